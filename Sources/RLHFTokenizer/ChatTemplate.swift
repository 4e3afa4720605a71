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

/// Chat formats, rendered natively (no Jinja engine): the families most small open models use,
/// each as transformers renders the reference template (checked against jinja2 by the fixtures of
/// `tools/make_chat_fixtures.py`).
///
///     let prompt = ChatTemplate.chatML(defaultSystemPrompt: nil)
///         .render([ChatMessage(role: "user", content: "Hi")], addGenerationPrompt: true)
public enum ChatTemplate: Sendable, Equatable {
    /// `<|im_start|>role\ncontent<|im_end|>\n` (SmolLM2, Qwen). The default system prompt is
    /// inserted when the conversation does not start with a system message
    /// (none for an empty conversation, as in SmolLM2's template).
    case chatML(defaultSystemPrompt: String?)
    /// Llama 3 (Meta-Llama-3-8B-Instruct): `<|start_header_id|>role<|end_header_id|>\n\ncontent<|eot_id|>`
    /// per message, the content trimmed (Jinja's `trim`, Python's `str.strip()`), with
    /// `<|begin_of_text|>` before the first message only (nothing for an empty conversation).
    /// `defaultSystemPrompt` (Meta's template has none; some derived templates hard-code one) is
    /// the first turn when the conversation does not start with a system message.
    case llama3(defaultSystemPrompt: String?)
    /// Llama 3.1, 3.2 and 3.3 Instruct: `<|begin_of_text|>`, then always a system turn
    /// `Cutting Knowledge Date: December 2023\nToday Date: <todayDate>\n\n` followed by the first
    /// message's content, trimmed, when that message is the system's; then the other messages as in
    /// Llama 3, except that `tool` and `ipython` messages become `ipython` turns whose content is a
    /// JSON string (the template's `tojson`, untrimmed). `todayDate` is the template's `date_string`:
    /// `"26 Jul 2024"` for 3.1 and 3.3; nil for 3.2, whose template asks `strftime_now("%d %b %Y")`,
    /// which transformers answers with the local date of rendering (``llama31Date(_:timeZone:)``).
    /// For an empty conversation transformers raises (`messages[0]` is undefined); this renders
    /// the system turn.
    case llama31(todayDate: String?)

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
            // As Meta's template: `bos_token` with the first message (`loop.index0 == 0`).
            if let first = messages.first {
                text += "<|begin_of_text|>"
                if let defaultSystemPrompt, first.role != "system" {
                    text += "<|start_header_id|>system<|end_header_id|>\n\n\(defaultSystemPrompt)<|eot_id|>"
                }
            }
            for message in messages {
                text += "<|start_header_id|>\(message.role)<|end_header_id|>\n\n\(Self.trim(message.content))<|eot_id|>"
            }
            if addGenerationPrompt { text += "<|start_header_id|>assistant<|end_header_id|>\n\n" }
        case let .llama31(todayDate):
            text += "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n"
            text += "Cutting Knowledge Date: December 2023\nToday Date: \(todayDate ?? Self.llama31Date(Date()))\n\n"
            var rest = messages[...]
            if let first = rest.first, first.role == "system" {
                text += Self.trim(first.content)
                rest = rest.dropFirst()
            }
            text += "<|eot_id|>"
            for message in rest {
                if message.role == "tool" || message.role == "ipython" {
                    text += "<|start_header_id|>ipython<|end_header_id|>\n\n\(Self.json(message.content))<|eot_id|>"
                } else {
                    text += "<|start_header_id|>\(message.role)<|end_header_id|>\n\n\(Self.trim(message.content))<|eot_id|>"
                }
            }
            if addGenerationPrompt { text += "<|start_header_id|>assistant<|end_header_id|>\n\n" }
        }
        return text
    }

    /// Llama 3.2's "Today Date" for `date`: `strftime("%d %b %Y")` as Python formats it (day with
    /// two digits, English month abbreviation, year), in `timeZone` (Python's `datetime.now()` is
    /// local time).
    public static func llama31Date(_ date: Date, timeZone: TimeZone = .current) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let parts = calendar.dateComponents([.day, .month, .year], from: date)
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        let day = parts.day ?? 1
        return (day < 10 ? "0" : "") + "\(day) \(months[(parts.month ?? 1) - 1]) \(parts.year ?? 1970)"
    }

    /// `text` without leading and trailing whitespace as Python's `str.strip()` (Jinja's `trim`)
    /// removes it: by Unicode scalar, whitespace as `str.isspace()`.
    static func trim(_ text: String) -> String {
        let scalars = text.unicodeScalars
        guard let first = scalars.first, let last = scalars.last else { return text }
        if !isPythonWhitespace(first) && !isPythonWhitespace(last) { return text }
        guard let start = scalars.firstIndex(where: { !isPythonWhitespace($0) }),
              let end = scalars.lastIndex(where: { !isPythonWhitespace($0) }) else { return "" }
        return String(scalars[start...end])
    }

    /// Python's `str.isspace()` for one scalar: bidirectional class WS, B or S, or category Zs.
    static func isPythonWhitespace(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x09...0x0D, 0x1C...0x20, 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000:
            return true
        default:
            return false
        }
    }

    /// `text` as a JSON string, as transformers' `tojson` (`json.dumps(ensure_ascii=False)`) writes
    /// it: `"`, `\\` and control characters escaped, the rest as is.
    static func json(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            case "\u{00}"..."\u{1F}":
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    /// The token that ends an assistant turn (generation stops on it).
    public var endOfTurn: String {
        switch self {
        case .chatML: return "<|im_end|>"
        case .llama3, .llama31: return "<|eot_id|>"
        }
    }

    /// Recognises a model's Jinja chat template (from GGUF `tokenizer.chat_template` or
    /// `chat_template.jinja`): ChatML by `<|im_start|>`; Llama 3.1+ by `<|start_header_id|>` and
    /// `Cutting Knowledge Date:` (its system turn), with the date of the template's
    /// `date_string` literal, or nil (the day of rendering) when it asks `strftime_now` (3.2);
    /// Llama 3 by `<|start_header_id|>` otherwise. ChatML and Llama 3 come with the default system
    /// prompt when the template hard-codes one as a string literal (as SmolLM2's
    /// `'<|im_start|>system\nYou are a helpful AI assistant…<|im_end|>\n'` does).
    public static func detect(fromJinja template: String) -> ChatTemplate? {
        if template.contains("<|im_start|>") {
            return .chatML(defaultSystemPrompt: literal(in: template, after: ["<|im_start|>system\n", "<|im_start|>system\\n"], before: "<|im_end|>"))
        }
        if template.contains("<|start_header_id|>") {
            if template.contains("Cutting Knowledge Date:") {
                if template.contains("strftime_now") { return .llama31(todayDate: nil) }
                return .llama31(todayDate: assignedLiteral("date_string", in: template) ?? "26 Jul 2024")
            }
            return .llama3(defaultSystemPrompt: literal(
                in: template,
                after: ["<|start_header_id|>system<|end_header_id|>\n\n", "<|start_header_id|>system<|end_header_id|>\\n\\n"],
                before: "<|eot_id|>"))
        }
        return nil
    }

    /// The string literal the template first assigns to `variable` (`{%- set date_string = "26 Jul 2024" %}`),
    /// unescaped; nil when there is none.
    static func assignedLiteral(_ variable: String, in template: String) -> String? {
        var searchStart = template.startIndex
        while let set = template.range(of: "set " + variable, range: searchStart..<template.endIndex) {
            searchStart = set.upperBound
            let rest = template[set.upperBound...].drop(while: { $0 == " " })
            guard rest.first == "=" else { continue }
            let value = rest.dropFirst().drop(while: { $0 == " " })
            guard let quote = value.first, quote == "\"" || quote == "'",
                  let close = value.dropFirst().firstIndex(of: quote) else { continue }
            if let text = unescape(value[value.index(after: value.startIndex)..<close], quote: quote) { return text }
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
