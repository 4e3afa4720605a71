import RLHFAlignment
import RLHFModel
import RLHFRollouts

/// Measures a policy on a prompt set: reward, KL to a reference, length, EOS, and a win rate
/// against another policy under the same reward. Never trains.
public enum PolicyEvaluation {
    /// One sampled response and its measurements.
    public struct Sample: Sendable, Codable, Equatable {
        public var prompt: String
        public var response: String
        public var reward: Double
        public var tokens: Int
        public var endedWithEOS: Bool
        /// Σ_t log π − log π_ref over the response (k1), when a reference was given.
        public var klK1: Double?
    }

    /// Everything `rlhf evaluate` reports.
    public struct Report: Sendable, Codable, Equatable {
        public var prompts: Int
        public var samples: Int
        public var reward: String
        public var rewardMean: Double
        public var rewardStd: Double
        /// Mean over samples of Σ_t k1 (nats per sequence); nil without a reference.
        public var klK1: Double?
        /// Mean over samples of Σ_t k3 = Σ (e^{−ℓ} − 1 + ℓ), ≥ 0; nil without a reference.
        public var klK3: Double?
        public var meanLength: Double
        /// Share of responses that stopped at the length limit (no EOS / end-of-turn).
        public var shareWithoutEOS: Double
        /// P(reward(policy) > reward(versus)) + ½ P(tie), over the same prompts and sample slots.
        public var winRate: Double?
        public var versusRewardMean: Double?
        /// The first few samples.
        public var examples: [Sample]
    }

    /// Samples `generator.samplesPerPrompt` responses per prompt from `policy` (phase 0) and, if
    /// given, from `versus` (phase 1: its own random stream), and measures them.
    public static func run(
        policy: PretrainedModel, prompts: [RolloutGenerator.Prompt], reward: any RewardSource,
        reference: PretrainedModel? = nil, versus: PretrainedModel? = nil, generator: RolloutGenerator,
        exampleCount: Int = 3, batchSize: Int = 16
    ) throws -> Report {
        let completions = try generator.generate(policy: policy, prompts: prompts, phase: 0)
        let rewards = try score(completions, reward)
        var klK1: [Double]?, klK3: [Double]?
        if let reference {
            let promptTokens = completions.map(\.prompt.tokens), responses = completions.map(\.tokens)
            let own = try SequenceScorer.tokenLogProbs(model: policy.model, prompts: promptTokens, responses: responses, batchSize: batchSize)
            let theirs = try SequenceScorer.tokenLogProbs(model: reference.model, prompts: promptTokens, responses: responses, batchSize: batchSize)
            klK1 = zip(own, theirs).map { KLEstimator.k1.sequence(policy: $0, reference: $1) }
            klK3 = zip(own, theirs).map { KLEstimator.k3.sequence(policy: $0, reference: $1) }
        }
        var winRate: Double?, versusMean: Double?
        if let versus {
            let other = try generator.generate(policy: versus, prompts: prompts, phase: 1)
            let otherRewards = try score(other, reward)
            winRate = zip(rewards, otherRewards).map { $0 > $1 ? 1 : $0 == $1 ? 0.5 : 0 }.reduce(0, +) / Double(max(1, rewards.count))
            versusMean = Statistics.meanAndStandardDeviation(otherRewards).mean
        }
        let (mean, std) = Statistics.meanAndStandardDeviation(rewards)
        func average(_ values: [Double]?) -> Double? { values.map { Statistics.meanAndStandardDeviation($0).mean } }
        let examples = completions.indices.prefix(exampleCount).map { i in
            Sample(prompt: completions[i].prompt.text, response: completions[i].text, reward: rewards[i], tokens: completions[i].tokens.count,
                   endedWithEOS: completions[i].finishReason == .stopToken, klK1: klK1?[i])
        }
        return Report(
            prompts: prompts.count, samples: completions.count, reward: reward.name, rewardMean: mean, rewardStd: std,
            klK1: average(klK1), klK3: average(klK3),
            meanLength: Double(completions.reduce(0) { $0 + $1.tokens.count }) / Double(max(1, completions.count)),
            shareWithoutEOS: Double(completions.filter { $0.finishReason != .stopToken }.count) / Double(max(1, completions.count)),
            winRate: winRate, versusRewardMean: versusMean, examples: examples)
    }

    static func score(_ completions: [RolloutGenerator.Completion], _ reward: any RewardSource) throws -> [Double] {
        try reward.checkedScores(for: completions.map(\.rewardInput))
    }
}
