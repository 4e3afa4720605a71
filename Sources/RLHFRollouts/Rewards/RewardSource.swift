import RLHFAlignment
import RLHFData

/// What a reward source scores: one response to one prompt, as text and as tokens, with the prompt
/// record's other fields (e.g. an `answer` to match).
public struct RewardInput: Sendable {
    /// The prompt as the policy saw it (rendered with the chat template for conversational data).
    public let prompt: String
    /// The response text (special tokens removed, stop strings cut).
    public let response: String
    public let promptTokens: [Int]
    public let responseTokens: [Int]
    /// The prompt record's fields other than `prompt` (JSON, exactly as read).
    public let fields: [String: JSONValue]
    /// Whether the response ended with an end-of-sequence / end-of-turn token.
    public let endedWithEOS: Bool

    public init(prompt: String, response: String, promptTokens: [Int] = [], responseTokens: [Int] = [],
                fields: [String: JSONValue] = [:], endedWithEOS: Bool = true) {
        self.prompt = prompt
        self.response = response
        self.promptTokens = promptTokens
        self.responseTokens = responseTokens
        self.fields = fields
        self.endedWithEOS = endedWithEOS
    }
}

/// Anything that scores responses: a reward model, an ensemble, a rule, an external command.
/// One call scores a whole batch, so a model runs one forward pass and a command one round trip.
public protocol RewardSource: Sendable {
    /// A short name for logs and metrics (`"reward-model"`, `"length(target=64)"`, …).
    var name: String { get }
    /// One score per input, in order.
    /// - Throws: ``RewardError`` when a score cannot be produced; nothing is made up.
    func scores(for inputs: [RewardInput]) throws -> [Double]
}

/// Why a reward source produced no score.
public struct RewardError: Error, CustomStringConvertible, Equatable {
    public let source: String
    public let reason: String
    public init(source: String, reason: String) {
        self.source = source
        self.reason = reason
    }
    public var description: String { "reward \(source): \(reason)" }
}

/// A reward source that says more about a batch than its scores: an ensemble's disagreement, a
/// sum's components. Trainers log the diagnostics beside the rewards.
public protocol DiagnosingRewardSource: RewardSource {
    /// One score per input, in order, and metrics of the batch (stable names and order).
    func scoresAndDiagnostics(for inputs: [RewardInput]) throws -> (scores: [Double], diagnostics: [Diagnostic])
}

extension RewardSource {
    /// ``checkedScores(for:)`` with the source's diagnostics when it has any (else none).
    public func checkedScoresAndDiagnostics(for inputs: [RewardInput]) throws -> (scores: [Double], diagnostics: [Diagnostic]) {
        guard let diagnosing = self as? any DiagnosingRewardSource else { return (try checkedScores(for: inputs), []) }
        let (scores, diagnostics) = try diagnosing.scoresAndDiagnostics(for: inputs)
        return (try check(scores, for: inputs), diagnostics)
    }

    /// ``scores(for:)``, checked: one finite score per input, or a ``RewardError`` naming the
    /// first response that has none.
    public func checkedScores(for inputs: [RewardInput]) throws -> [Double] {
        try check(scores(for: inputs), for: inputs)
    }

    func check(_ scores: [Double], for inputs: [RewardInput]) throws -> [Double] {
        guard scores.count == inputs.count else {
            throw RewardError(source: name, reason: "returned \(scores.count) scores for \(inputs.count) responses")
        }
        if let bad = scores.firstIndex(where: { !$0.isFinite }) {
            throw RewardError(source: name, reason: "response \(bad + 1) of \(scores.count) got a non-finite score (\(scores[bad]))")
        }
        return scores
    }
}
