import Foundation

/// One message of a conversation.
public struct ChatMessage: Codable, Sendable, Equatable {
    /// "system", "user" or "assistant".
    public var role: String
    public var content: String

    public init(role: String, content: String) {
        self.role = role
        self.content = content
    }
}

/// Chat formats, rendered natively (no Jinja engine): the two families most small open models use.
///
///     let prompt = ChatTemplate.chatML(defaultSystemPrompt: nil)
///         .render([ChatMessage(role: "user", content: "Hi")], addGenerationPrompt: true)
public enum ChatTemplate: Sendable, Equatable {
    /// `<|im_start|>role\ncontent<|im_end|>\n` (SmolLM2, Qwen). The default system prompt is
    /// inserted when the conversation does not start with a system message
    /// (none for an empty conversation, as in SmolLM2's template).
    case chatML(defaultSystemPrompt: String?)
    /// Llama 3: `<|start_header_id|>role<|end_header_id|>\n\ncontent<|eot_id|>` after
    /// `<|begin_of_text|>`.
    case llama3(defaultSystemPrompt: String?)

    /// The prompt text for `messages`, ending with the assistant header when `addGenerationPrompt`.
    public func render(_ messages: [ChatMessage], addGenerationPrompt: Bool) -> String {
        var text = ""
        switch self {
        case let .chatML(defaultSystemPrompt):
            // As the SmolLM2 template: inside the message loop, so nothing for no messages.
            if let defaultSystemPrompt, let first = messages.first, first.role != "system" {
                text += "<|im_start|>system\n\(defaultSystemPrompt)<|im_end|>\n"
            }
            for message in messages { text += "<|im_start|>\(message.role)\n\(message.content)<|im_end|>\n" }
            if addGenerationPrompt { text += "<|im_start|>assistant\n" }
        case let .llama3(defaultSystemPrompt):
            text += "<|begin_of_text|>"
            if let defaultSystemPrompt, messages.first?.role != "system" {
                text += "<|start_header_id|>system<|end_header_id|>\n\n\(defaultSystemPrompt)<|eot_id|>"
            }
            for message in messages {
                text += "<|start_header_id|>\(message.role)<|end_header_id|>\n\n\(message.content)<|eot_id|>"
            }
            if addGenerationPrompt { text += "<|start_header_id|>assistant<|end_header_id|>\n\n" }
        }
        return text
    }

    /// The token that ends an assistant turn (generation stops on it).
    public var endOfTurn: String {
        switch self {
        case .chatML: return "<|im_end|>"
        case .llama3: return "<|eot_id|>"
        }
    }

    /// Recognises a model's Jinja chat template (from GGUF `tokenizer.chat_template` or
    /// `chat_template.jinja`): ChatML by `<|im_start|>`, Llama 3 by `<|start_header_id|>`, with the
    /// default system prompt when the template hard-codes one as a string literal (as SmolLM2's
    /// `'<|im_start|>system\nYou are a helpful AI assistant…<|im_end|>\n'` does).
    public static func detect(fromJinja template: String) -> ChatTemplate? {
        if template.contains("<|im_start|>") {
            return .chatML(defaultSystemPrompt: literal(in: template, after: ["<|im_start|>system\n", "<|im_start|>system\\n"], before: "<|im_end|>"))
        }
        if template.contains("<|start_header_id|>") {
            return .llama3(defaultSystemPrompt: literal(
                in: template,
                after: ["<|start_header_id|>system<|end_header_id|>\n\n", "<|start_header_id|>system<|end_header_id|>\\n\\n"],
                before: "<|eot_id|>"))
        }
        return nil
    }

    /// The first Jinja string literal that starts with one of `after` and holds plain text up to
    /// `before` (a default system prompt), unescaped; nil when there is none (the text there is an
    /// expression such as `messages[0]['content']`).
    static func literal(in template: String, after prefixes: [String], before end: String) -> String? {
        for quote in ["'", "\""] {
            for prefix in prefixes {
                var searchStart = template.startIndex
                while let start = template.range(of: quote + prefix, range: searchStart..<template.endIndex) {
                    searchStart = start.upperBound
                    let rest = template[start.upperBound...]
                    guard let stop = rest.range(of: end) else { break }
                    let raw = rest[..<stop.lowerBound]
                    if let text = unescape(raw, quote: Character(quote)), !text.isEmpty { return text }
                }
            }
        }
        return nil
    }

    /// The contents of a Jinja string literal up to (not including) its end, with escapes resolved;
    /// nil if the literal closes before that (the text is not all one literal).
    static func unescape(_ raw: Substring, quote: Character) -> String? {
        var text = ""
        var escaped = false
        for character in raw {
            if escaped {
                switch character {
                case "n": text.append("\n")
                case "t": text.append("\t")
                case "r": text.append("\r")
                default: text.append(character)
                }
                escaped = false
            } else if character == "\\" {
                escaped = true
            } else if character == quote {
                return nil
            } else {
                text.append(character)
            }
        }
        return escaped ? nil : text
    }
}
