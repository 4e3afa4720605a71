import RLHFModel

/// Completions → rollouts: old log-probs (teacher-forced under the rollout-time policy), reference
/// log-probs, and rewards, each source read once per phase.
public struct RolloutScorer {
    public var batchSize: Int

    public init(batchSize: Int = 16) { self.batchSize = max(1, batchSize) }

    /// When only the top blocks of the policy train, policy and reference share the frozen blocks
    /// below (checked parameter for parameter): their output is computed once per batch and both
    /// models run only the blocks above.
    public func score(
        _ completions: [RolloutGenerator.Completion], policy: LlamaModel, reference: LlamaModel, reward: any RewardSource
    ) throws -> [Rollout] {
        let prompts = completions.map(\.prompt.tokens), responses = completions.map(\.tokens)
        let frozen = policy.trainable.tokenEmbedding ? 0 : min(policy.trainable.lowestTrainableBlock, policy.configuration.blockCount)
        let shared = policy === reference ? frozen : LlamaModel.identicalLowerBlocks([policy, reference], atMost: frozen)
        let (old, referenceLogProbs) = try SequenceScorer.tokenLogProbs(
            models: (policy, reference), sharingBlocks: shared, prompts: prompts, responses: responses, batchSize: batchSize)
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
