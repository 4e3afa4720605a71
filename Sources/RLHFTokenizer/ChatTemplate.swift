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
    /// inserted when the conversation does not start with a system message.
    case chatML(defaultSystemPrompt: String?)
    /// Llama 3: `<|start_header_id|>role<|end_header_id|>\n\ncontent<|eot_id|>` after
    /// `<|begin_of_text|>`.
    case llama3(defaultSystemPrompt: String?)

    /// The prompt text for `messages`, ending with the assistant header when `addGenerationPrompt`.
    public func render(_ messages: [ChatMessage], addGenerationPrompt: Bool) -> String {
        var text = ""
        switch self {
        case let .chatML(defaultSystemPrompt):
            if let defaultSystemPrompt, messages.first?.role != "system" {
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
    /// `chat_template.jinja`), including a default system prompt written into it.
    public static func detect(fromJinja template: String) -> ChatTemplate? {
        if template.contains("<|im_start|>") {
            return .chatML(defaultSystemPrompt: literal(in: template, after: "<|im_start|>system\n", before: "<|im_end|>"))
        }
        if template.contains("<|start_header_id|>") {
            return .llama3(defaultSystemPrompt: literal(
                in: template, after: "<|start_header_id|>system<|end_header_id|>\n\n", before: "<|eot_id|>"))
        }
        return nil
    }

    /// The literal text between `after` and `before` inside a quoted Jinja string, if the template
    /// hard-codes one (a default system prompt); nil when the text there is a template expression.
    static func literal(in template: String, after: String, before: String) -> String? {
        guard let start = template.range(of: after) else { return nil }
        let rest = template[start.upperBound...]
        guard let end = rest.range(of: before) else { return nil }
        let text = String(rest[..<end.lowerBound])
        return text.isEmpty || text.contains("{{") || text.contains("'") || text.contains("+") ? nil : text
    }
}
