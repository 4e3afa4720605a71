import RLHFAlignment
import RLHFRollouts

/// The proxy reward an experiment's RL runs optimise: bag-of-words members, each z-normalised on
/// samples of the SFT policy (so that β has one scale whatever the member, as the prototype of
/// this demo found necessary), used alone (`single`: member 0) or combined by an
/// ``EnsembleCombiner`` (mean, WCO, UWO on the normalised scores).
///
/// As a ``DiagnosingRewardSource`` it reports what ``RewardEnsemble`` reports for model members
/// (`ensemble/disagreement`, `ensemble/member_mean_min`, `…_max`), so every trainer's
/// overoptimization alarm works with it.
public struct ProxyReward: DiagnosingRewardSource {
    /// r ↦ (r − mean) / std, from a member's scores on SFT samples.
    public struct Normalization: Sendable, Codable, Equatable {
        public var mean: Double
        public var standardDeviation: Double

        public init(mean: Double, standardDeviation: Double) {
            self.mean = mean
            self.standardDeviation = standardDeviation
        }

        /// From scores of reference samples (a zero spread keeps the scale: std 1).
        public init(scores: [Double]) {
            let (mean, std) = Statistics.meanAndStandardDeviation(scores)
            self.init(mean: mean, standardDeviation: std > 1e-12 ? std : 1)
        }

        public func apply(_ score: Double) -> Double { (score - mean) / standardDeviation }
    }

    public let members: [BagOfWordsProxy]
    public let normalizations: [Normalization]
    /// nil: the first member alone.
    public let combiner: EnsembleCombiner?

    public init(members: [BagOfWordsProxy], normalizations: [Normalization], combiner: EnsembleCombiner?) {
        precondition(!members.isEmpty && members.count == normalizations.count, "ProxyReward: one normalization per member")
        self.members = members
        self.normalizations = normalizations
        self.combiner = combiner
    }

    public var name: String { combiner.map { "proxy(ensemble of \(members.count), \($0.name))" } ?? "proxy(single)" }

    /// The normalised scores of every member used (members × inputs).
    public func memberScores(for inputs: [RewardInput]) -> [[Double]] {
        let used = combiner == nil ? 1 : members.count
        return (0..<used).map { m in inputs.map { normalizations[m].apply(members[m].reward($0.response)) } }
    }

    public func scores(for inputs: [RewardInput]) throws -> [Double] { try scoresAndDiagnostics(for: inputs).scores }

    public func scoresAndDiagnostics(for inputs: [RewardInput]) throws -> (scores: [Double], diagnostics: [Diagnostic]) {
        let scores = memberScores(for: inputs)
        guard let combiner else { return (scores[0], []) }
        return (combiner.combine(members: scores), RewardEnsemble.disagreement(scores))
    }
}

/// A reward source shifted so that the reference policy's mean is 0 (Gao et al.'s recentring of
/// the gold reward), keeping the source's own diagnostics.
public struct RecentredReward: DiagnosingRewardSource {
    public let base: any RewardSource
    public let offset: Double

    public init(base: any RewardSource, offset: Double) {
        self.base = base
        self.offset = offset
    }

    public var name: String { base.name }

    public func scores(for inputs: [RewardInput]) throws -> [Double] { try base.checkedScores(for: inputs).map { $0 - offset } }

    public func scoresAndDiagnostics(for inputs: [RewardInput]) throws -> (scores: [Double], diagnostics: [Diagnostic]) {
        let (scores, diagnostics) = try base.checkedScoresAndDiagnostics(for: inputs)
        return (scores.map { $0 - offset }, diagnostics)
    }
}
