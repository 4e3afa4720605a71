/// How long tokenized examples may be.
///
/// Applied per example, as TRL does for prompts and completions: the prompt keeps its *last*
/// ``maxPromptTokens`` tokens (the end of a prompt is what the completion answers); then, when
/// prompt + completion exceeds ``maxLength``, the completion is cut at its end; when even the
/// prompt leaves no room for one completion token, the prompt is cut further from the left to
/// `maxLength − 1` tokens. `text` and `messages` SFT examples, which have no separate prompt, are
/// cut at the end to `maxLength`.
public struct TruncationPolicy: Sendable, Equatable, CustomStringConvertible {
    /// The most prompt tokens kept (the last ones); nil for no limit.
    public var maxPromptTokens: Int?
    /// The most tokens of prompt + completion; nil for no limit.
    public var maxLength: Int?

    /// - Precondition: `maxPromptTokens ≥ 0` and `maxLength ≥ 1` when given.
    public init(maxPromptTokens: Int? = nil, maxLength: Int? = nil) {
        precondition((maxPromptTokens ?? 0) >= 0, "TruncationPolicy: maxPromptTokens must be at least 0")
        precondition((maxLength ?? 1) >= 1, "TruncationPolicy: maxLength must be at least 1")
        self.maxPromptTokens = maxPromptTokens
        self.maxLength = maxLength
    }

    /// No truncation.
    public static let none = TruncationPolicy()

    public var description: String {
        "max prompt \(maxPromptTokens.map(String.init) ?? "unlimited"), max length \(maxLength.map(String.init) ?? "unlimited")"
    }

    /// Cuts `prompt` and `completions` (one, or two that share the prompt) per the policy and
    /// counts what it did in `report`.
    func apply(prompt: inout [Int], completions: inout [[Int]], report: inout TruncationReport) {
        report.records += 1
        report.maxPromptTokensSeen = max(report.maxPromptTokensSeen, prompt.count)
        for completion in completions { report.maxLengthSeen = max(report.maxLengthSeen, prompt.count + completion.count) }
        if completions.isEmpty { report.maxLengthSeen = max(report.maxLengthSeen, prompt.count) }
        var promptCut = false
        if let maxPromptTokens, prompt.count > maxPromptTokens {
            prompt = Array(prompt.suffix(maxPromptTokens))
            promptCut = true
        }
        if let maxLength {
            // Room for one completion token (for a prompt alone: one token to be sampled).
            let needed = completions.isEmpty || completions.contains(where: { !$0.isEmpty }) ? 1 : 0
            if prompt.count + needed > maxLength {
                prompt = Array(prompt.suffix(maxLength - needed))
                promptCut = true
            }
            for index in completions.indices where prompt.count + completions[index].count > maxLength {
                completions[index] = Array(completions[index].prefix(maxLength - prompt.count))
                report.completionsTruncated += 1
            }
        }
        if promptCut { report.promptsTruncated += 1 }
    }

    /// Cuts a whole sequence (and its mask) at the end to ``maxLength``.
    func apply(sequence tokens: inout [Int], mask: inout [Bool], report: inout TruncationReport) {
        report.records += 1
        report.maxLengthSeen = max(report.maxLengthSeen, tokens.count)
        if let maxLength, tokens.count > maxLength {
            tokens.removeLast(tokens.count - maxLength)
            mask.removeLast(mask.count - maxLength)
            report.completionsTruncated += 1
        }
    }
}

/// What truncation did to a dataset, for the command line to print.
public struct TruncationReport: Sendable, Equatable, CustomStringConvertible {
    public var policy: TruncationPolicy
    /// Records encoded.
    public var records = 0
    /// Prompts that lost tokens (from the left).
    public var promptsTruncated = 0
    /// Completions that lost tokens at the end (a pair counts each of its two); for `text` and
    /// `messages` SFT examples, whole sequences cut at the end.
    public var completionsTruncated = 0
    /// The longest prompt before truncation, in tokens.
    public var maxPromptTokensSeen = 0
    /// The longest prompt + completion (or whole sequence) before truncation, in tokens.
    public var maxLengthSeen = 0

    public init(policy: TruncationPolicy) { self.policy = policy }

    /// Adds the counts of `other` (encoded with the same policy).
    public mutating func merge(_ other: TruncationReport) {
        records += other.records
        promptsTruncated += other.promptsTruncated
        completionsTruncated += other.completionsTruncated
        maxPromptTokensSeen = max(maxPromptTokensSeen, other.maxPromptTokensSeen)
        maxLengthSeen = max(maxLengthSeen, other.maxLengthSeen)
    }

    /// E.g. `1000 records; longest prompt 412 tokens, 12 prompts truncated (max prompt 256);
    /// longest sequence 700 tokens, 3 completions truncated (max length 512)`.
    public var description: String {
        var text = "\(records) record\(records == 1 ? "" : "s"); longest prompt \(maxPromptTokensSeen) tokens"
        text += ", \(promptsTruncated) prompt\(promptsTruncated == 1 ? "" : "s") truncated"
        text += " (max prompt \(policy.maxPromptTokens.map(String.init) ?? "unlimited"))"
        text += "; longest sequence \(maxLengthSeen) tokens, \(completionsTruncated) completion\(completionsTruncated == 1 ? "" : "s") truncated"
        text += " (max length \(policy.maxLength.map(String.init) ?? "unlimited"))"
        return text
    }
}
