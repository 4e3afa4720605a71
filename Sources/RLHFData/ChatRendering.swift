import Foundation
import RLHFTokenizer

/// Why a record cannot be encoded (wrapped into a `DatasetError` with the record's file and line).
struct EncodingFailure: Error { let reason: String }

/// Conversational records rendered to text, as Hugging Face / TRL render them, with one
/// deliberate difference: a completion ends at its end-of-turn token.
///
/// The prompt is `template.render(prompt, addGenerationPrompt: true)` (ending with the assistant
/// header); the completion is `render(prompt + completion, addGenerationPrompt: false)` with the
/// prompt text removed from its front, *through the last end-of-turn token*: what the template
/// puts after it (ChatML's trailing `"\n"`) is dropped. Sampling stops at the end-of-turn token, so
/// SFT targets, reward models and DPO see completions that end where sampled ones end. TRL keeps
/// the newline (its completion is everything after the prompt).
struct ChatRendering {
    let template: ChatTemplate

    func prompt(_ messages: [ChatMessage]) -> String {
        messages.isEmpty ? "" : template.render(messages, addGenerationPrompt: true)
    }

    /// The completion text after `promptText` (the rendering of `prompt`), through the end of turn.
    func completion(_ completion: [ChatMessage], after prompt: [ChatMessage], promptText: String) throws(EncodingFailure) -> String {
        let full = template.render(prompt + completion, addGenerationPrompt: false)
        guard let rest = Self.remainder(of: full, after: promptText) else {
            throw EncodingFailure(reason: """
                the chat template does not render the completion after the prompt (the completion's first message is \
                \(completion.first?.role ?? "missing"); it should be the assistant's)
                """)
        }
        return String(throughLastEndOfTurn(rest))
    }

    /// A whole conversation cut into pieces to be tokenized separately, each with whether it is
    /// trained on: the text up to and including each assistant header (false), each assistant
    /// turn's content and end-of-turn token (true), and the turns after the last assistant turn
    /// (false). What the template puts after the final end-of-turn token is dropped.
    ///
    /// Tokenizing the header and the content apart mirrors sampling, where the prompt ends with the
    /// header and the model produces the content's tokens.
    func segments(_ messages: [ChatMessage]) throws(EncodingFailure) -> [(text: Substring, trained: Bool)] {
        let full = template.render(messages, addGenerationPrompt: false)
        let utf8 = full.utf8
        var segments = [(text: Substring, trained: Bool)]()
        var position = utf8.startIndex
        for index in messages.indices where messages[index].role == "assistant" {
            let header = template.render(Array(messages[..<index]), addGenerationPrompt: true)
            let through = template.render(Array(messages[...index]), addGenerationPrompt: false)
            guard Self.hasPrefix(full, through), Self.hasPrefix(through, header),
                  header.utf8.count >= utf8.distance(from: utf8.startIndex, to: position) else {
                throw EncodingFailure(reason: "the chat template does not render messages[\(index)] (an assistant message) after the messages before it")
            }
            let contentStart = utf8.index(utf8.startIndex, offsetBy: header.utf8.count)
            let turnEnd = utf8.index(contentStart, offsetBy: throughLastEndOfTurn(Self.remainder(of: through, after: header)!).utf8.count)
            if position < contentStart { segments.append((full[position..<contentStart], false)) }
            segments.append((full[contentStart..<turnEnd], true))
            position = turnEnd
        }
        let end = throughLastEndOfTurn(full[...]).endIndex
        if position < end { segments.append((full[position..<end], false)) }
        return segments
    }

    /// `text` up to and including its last end-of-turn token (all of it when it has none).
    func throughLastEndOfTurn(_ text: Substring) -> Substring {
        let marker = Array(template.endOfTurn.utf8)
        let utf8 = text.utf8
        guard let last = marker.last, utf8.count >= marker.count else { return text }
        var end = utf8.endIndex
        while end > utf8.startIndex {
            let before = utf8.index(before: end)
            if utf8[before] == last, utf8.distance(from: utf8.startIndex, to: end) >= marker.count {
                let start = utf8.index(end, offsetBy: -marker.count)
                if utf8[start..<end].elementsEqual(marker) { return text[..<end] }
            }
            end = before
        }
        return text
    }

    /// What follows `prefix` in `text`, compared byte for byte (not by Unicode equivalence).
    static func remainder(of text: String, after prefix: String) -> Substring? {
        guard hasPrefix(text, prefix) else { return nil }
        return text[text.utf8.index(text.utf8.startIndex, offsetBy: prefix.utf8.count)...]
    }

    /// Whether `text` starts with `prefix`, byte for byte (memcmp on native strings).
    static func hasPrefix(_ text: String, _ prefix: String) -> Bool {
        guard prefix.utf8.count <= text.utf8.count else { return false }
        let fast = text.utf8.withContiguousStorageIfAvailable { a in
            prefix.utf8.withContiguousStorageIfAvailable { b in
                b.isEmpty || memcmp(a.baseAddress!, b.baseAddress!, b.count) == 0
            }
        }
        if let fast, let result = fast { return result }
        return text.utf8.starts(with: prefix.utf8)
    }
}
