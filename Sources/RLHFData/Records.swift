import RLHFTokenizer

/// One completion of a prompt, judged good or bad on its own (TRL's unpaired preference format, KTO):
/// `{"prompt", "completion", "label": true}`, both strings or both message lists.
public struct UnpairedPreferenceRecord: DatasetRecord {
    public var prompt: RecordText
    public var completion: RecordText
    /// True when the completion is desirable.
    public var label: Bool
    /// The record's other fields.
    public var fields: [String: JSONValue]
    public var line: Int

    public init(prompt: RecordText, completion: RecordText, label: Bool, fields: [String: JSONValue] = [:], line: Int = 0) {
        self.prompt = prompt
        self.completion = completion
        self.label = label
        self.fields = fields
        self.line = line
    }

    public init(jsonObject: [String: JSONValue], file: String, line: Int) throws(DatasetError) {
        let reader = FieldReader(members: jsonObject, file: file, line: line)
        let prompt = try reader.recordText("prompt", for: .unpairedPreference)
        let completion = try reader.recordText("completion", for: .unpairedPreference)
        try reader.requireSameKind(("prompt", prompt), ("completion", completion))
        let label = try reader.bool("label", for: .unpairedPreference)
        self.init(prompt: prompt, completion: completion, label: label,
                  fields: reader.extraFields(excluding: ["prompt", "completion", "label"]), line: line)
    }
}

/// A prompt to sample completions for (TRL's prompt-only format: PPO, GRPO), with every other
/// field of the line kept for reward sources (`answer`, `solution`, `id`, …).
public struct PromptRecord: DatasetRecord {
    public var prompt: RecordText
    /// All fields but `prompt`, as read.
    public var fields: [String: JSONValue]
    public var line: Int

    public init(prompt: RecordText, fields: [String: JSONValue] = [:], line: Int = 0) {
        self.prompt = prompt
        self.fields = fields
        self.line = line
    }

    public init(jsonObject: [String: JSONValue], file: String, line: Int) throws(DatasetError) {
        let reader = FieldReader(members: jsonObject, file: file, line: line)
        self.init(prompt: try reader.recordText("prompt", for: .promptOnly),
                  fields: reader.extraFields(excluding: ["prompt"]), line: line)
    }
}

/// What an SFT record trains on.
public enum SFTContent: Sendable, Equatable {
    /// `text`: language modeling, loss on every token.
    case text(String)
    /// `messages`: a conversation, loss on the assistant turns only.
    case messages([ChatMessage])
    /// `prompt` + `completion` (both strings or both message lists): loss on the completion only.
    case promptCompletion(prompt: RecordText, completion: RecordText)
}

/// A supervised fine-tuning example in one of TRL's three SFT formats.
public struct SFTRecord: DatasetRecord {
    public var content: SFTContent
    /// The record's other fields.
    public var fields: [String: JSONValue]
    public var line: Int

    public init(content: SFTContent, fields: [String: JSONValue] = [:], line: Int = 0) {
        self.content = content
        self.fields = fields
        self.line = line
    }

    public init(jsonObject: [String: JSONValue], file: String, line: Int) throws(DatasetError) {
        let reader = FieldReader(members: jsonObject, file: file, line: line)
        let hasText = reader.optional("text") != nil, hasMessages = reader.optional("messages") != nil
        let hasPrompt = reader.optional("prompt") != nil, hasCompletion = reader.optional("completion") != nil
        let forms = [hasText ? "'text'" : nil, hasMessages ? "'messages'" : nil,
                     hasPrompt || hasCompletion ? "'prompt' + 'completion'" : nil].compactMap { $0 }
        if forms.count > 1 {
            throw reader.error("has both \(forms[0]) and \(forms[1]); an SFT record has one of 'text', 'messages', or 'prompt' + 'completion'")
        }
        let content: SFTContent
        if hasText {
            content = .text(try reader.string("text", for: .languageModeling))
        } else if hasMessages {
            let messages = try reader.messageList("messages", for: .conversation)
            guard messages.contains(where: { $0.role == "assistant" }) else {
                throw reader.error("'messages' has no assistant message, so there is nothing to train on")
            }
            content = .messages(messages)
        } else if hasPrompt || hasCompletion {
            let prompt = try reader.recordText("prompt", for: .promptCompletion)
            let completion = try reader.recordText("completion", for: .promptCompletion)
            try reader.requireSameKind(("prompt", prompt), ("completion", completion))
            content = .promptCompletion(prompt: prompt, completion: completion)
        } else {
            var reason = "has none of the SFT fields 'text', 'messages', or 'prompt' + 'completion'"
            if let detected = DatasetFormat.detect(fields: jsonObject.keys) {
                reason += " (\(FieldReader.fieldsLookLike(jsonObject.keys)) \(detected.article) \(detected) record)"
            } else {
                reason += " (found \(jsonObject.isEmpty ? "no fields" : FieldReader.list(jsonObject.keys)))"
            }
            throw reader.error(reason)
        }
        self.init(content: content, fields: reader.extraFields(excluding: ["text", "messages", "prompt", "completion"]), line: line)
    }
}
