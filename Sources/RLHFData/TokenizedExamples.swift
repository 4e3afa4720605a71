/// A preference pair as token ids: `prompt + chosen` and `prompt + rejected` are the two sequences.
public struct TokenizedPair: Sendable, Equatable {
    public var prompt: [Int]
    public var chosen: [Int]
    public var rejected: [Int]
    public var margin: Double?
    /// The record's line in its file (0 for records built in code).
    public var line: Int

    public init(prompt: [Int], chosen: [Int], rejected: [Int], margin: Double? = nil, line: Int = 0) {
        self.prompt = prompt
        self.chosen = chosen
        self.rejected = rejected
        self.margin = margin
        self.line = line
    }
}

/// One judged completion as token ids (KTO): the sequence is `prompt + completion`.
public struct TokenizedUnpairedExample: Sendable, Equatable {
    public var prompt: [Int]
    public var completion: [Int]
    public var label: Bool
    public var line: Int

    public init(prompt: [Int], completion: [Int], label: Bool, line: Int = 0) {
        self.prompt = prompt
        self.completion = completion
        self.label = label
        self.line = line
    }
}

/// A prompt ready for sampling.
public struct TokenizedPrompt: Sendable, Equatable {
    /// The prompt's ids, ending with the assistant header for conversational prompts.
    public var tokens: [Int]
    /// The text of ``tokens``: the rendered prompt, or, when truncation cut it, the kept tokens
    /// decoded (special tokens included).
    public var text: String
    /// The record's other fields, for reward sources.
    public var fields: [String: JSONValue]
    public var line: Int

    public init(tokens: [Int], text: String, fields: [String: JSONValue] = [:], line: Int = 0) {
        self.tokens = tokens
        self.text = text
        self.fields = fields
        self.line = line
    }
}

/// An SFT sequence and which of its tokens are trained on.
public struct TokenizedSFTExample: Sendable, Equatable {
    public var tokens: [Int]
    /// `lossMask[t]` is true when token `t` is a target (its log-probability given the tokens
    /// before it enters the loss): every token for `text`; the completion for `prompt` +
    /// `completion`; for `messages`, the tokens of each assistant turn's content and its
    /// end-of-turn token, never a header or a system/user/tool turn.
    public var lossMask: [Bool]
    public var line: Int

    public init(tokens: [Int], lossMask: [Bool], line: Int = 0) {
        precondition(tokens.count == lossMask.count, "TokenizedSFTExample: \(tokens.count) tokens, \(lossMask.count) mask entries")
        self.tokens = tokens
        self.lossMask = lossMask
        self.line = line
    }
}

/// The encoded examples of a dataset, in the dataset's order, and what truncation did.
public struct EncodedDataset<Example: Sendable>: Sendable {
    public var examples: [Example]
    public var report: TruncationReport
}
