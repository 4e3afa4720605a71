import RLHFModel

/// Completions → rollouts: old log-probs (teacher-forced under the rollout-time policy), reference
/// log-probs, and rewards, each source read once per phase.
public struct RolloutScorer {
    public var batchSize: Int

    public init(batchSize: Int = 16) { self.batchSize = max(1, batchSize) }

    public func score(
        _ completions: [RolloutGenerator.Completion], policy: LlamaModel, reference: LlamaModel, reward: any RewardSource
    ) throws -> [Rollout] {
        let prompts = completions.map(\.prompt.tokens), responses = completions.map(\.tokens)
        let old = try SequenceScorer.tokenLogProbs(model: policy, prompts: prompts, responses: responses, batchSize: batchSize)
        let referenceLogProbs = try SequenceScorer.tokenLogProbs(model: reference, prompts: prompts, responses: responses, batchSize: batchSize)
        let rewards = try reward.checkedScores(for: completions.map(\.rewardInput))
        return completions.indices.map { i in
            let c = completions[i]
            return Rollout(
                group: c.group, sample: c.sample, promptTokens: c.prompt.tokens, responseTokens: c.tokens, responseText: c.text,
                finishReason: c.finishReason, oldLogProbs: old[i], samplerLogProbs: c.samplerLogProbs,
                referenceLogProbs: referenceLogProbs[i], reward: rewards[i])
        }
    }
}
