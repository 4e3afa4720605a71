import Foundation
import RLHFAlignment

/// Several reward sources as one: score = Σₖ weightₖ · scoreₖ, per response
/// (`--reward A --reward B --reward-weights 1,0.5`).
///
/// Every source scores the whole batch; a source that returns the wrong number of scores or a
/// non-finite score is an error naming it (and the response), never a silent zero.
public struct WeightedRewardSum: DiagnosingRewardSource {
    public struct Term: Sendable {
        public let weight: Double
        public let source: any RewardSource
        public init(weight: Double, source: any RewardSource) {
            self.weight = weight
            self.source = source
        }
    }

    public let terms: [Term]

    /// - Throws: ``RewardError`` when `terms` is empty or a weight is not finite.
    public init(_ terms: [Term]) throws {
        guard !terms.isEmpty else { throw RewardError(source: "weighted sum", reason: "no reward sources") }
        for term in terms where !term.weight.isFinite {
            throw RewardError(source: "weighted sum", reason: "weight \(term.weight) of \(term.source.name) is not finite")
        }
        self.terms = terms
    }

    /// `sources` with `weights` (all 1 when nil).
    /// - Throws: ``RewardError`` when the counts differ, `sources` is empty or a weight is not finite.
    public init(sources: [any RewardSource], weights: [Double]? = nil) throws {
        let weights = weights ?? Array(repeating: 1, count: sources.count)
        guard weights.count == sources.count else {
            throw RewardError(
                source: "weighted sum",
                reason: "\(weights.count) weight\(weights.count == 1 ? "" : "s") for \(sources.count) reward source\(sources.count == 1 ? "" : "s")")
        }
        try self.init(zip(weights, sources).map { Term(weight: $0, source: $1) })
    }

    /// Parses `--reward-weights`: `count` comma-separated finite numbers (`1,0.5`).
    public static func parseWeights(_ text: String, count: Int) throws -> [Double] {
        let parts = text.split(separator: ",", omittingEmptySubsequences: false)
            .map { $0.trimmingCharacters(in: .whitespaces) }
        var weights: [Double] = []
        for part in parts {
            guard let weight = Double(part), weight.isFinite else {
                throw RewardError(source: "weights '\(text)'", reason: "'\(part)' is not a finite number")
            }
            weights.append(weight)
        }
        guard weights.count == count else {
            throw RewardError(
                source: "weights '\(text)'",
                reason: "\(weights.count) weight\(weights.count == 1 ? "" : "s") for \(count) reward source\(count == 1 ? "" : "s")")
        }
        return weights
    }

    public var name: String {
        terms.map { String(format: "%g", $0.weight) + "*" + $0.source.name }.joined(separator: " + ")
    }

    public func scores(for inputs: [RewardInput]) throws -> [Double] {
        try componentScores(for: inputs).total
    }

    /// The total, with each source's mean score as `rewards/NAME` when there are several, and the
    /// diagnostics of sources that have them (an ensemble's disagreement).
    public func scoresAndDiagnostics(for inputs: [RewardInput]) throws -> (scores: [Double], diagnostics: [Diagnostic]) {
        var total = Array(repeating: 0.0, count: inputs.count)
        var diagnostics: [Diagnostic] = []
        for term in terms {
            let (scores, own) = try term.source.checkedScoresAndDiagnostics(for: inputs)
            for (index, score) in scores.enumerated() { total[index] += term.weight * score }
            if terms.count > 1 { diagnostics.append(Diagnostic(name: "rewards/" + term.source.name, value: scores.reduce(0, +) / Double(max(1, scores.count)))) }
            diagnostics += own
        }
        return (total, diagnostics)
    }

    /// The weighted total and each source's own (unweighted) scores, `components[k][i]` for source
    /// `k` and response `i`, for logging each reward separately.
    public func componentScores(for inputs: [RewardInput]) throws -> (total: [Double], components: [[Double]]) {
        var total = Array(repeating: 0.0, count: inputs.count)
        var components: [[Double]] = []
        for term in terms {
            let scores = try term.source.scores(for: inputs)
            guard scores.count == inputs.count else {
                throw RewardError(
                    source: term.source.name, reason: "returned \(scores.count) scores for \(inputs.count) responses")
            }
            for (index, score) in scores.enumerated() {
                guard score.isFinite else {
                    throw RewardError(source: term.source.name, reason: "\(responseLabel(index, of: inputs.count)): score \(score) is not finite")
                }
                total[index] += term.weight * score
            }
            components.append(scores)
        }
        return (total, components)
    }
}
