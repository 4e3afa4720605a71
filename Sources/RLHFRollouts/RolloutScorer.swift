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
        let inputs = completions.map {
            RewardInput(prompt: $0.prompt.text, response: $0.text, promptTokens: $0.prompt.tokens, responseTokens: $0.tokens,
                        fields: $0.prompt.fields, endedWithEOS: $0.finishReason == .stopToken)
        }
        let rewards = try reward.scores(for: inputs)
        guard rewards.count == completions.count else {
            throw RewardError(source: reward.name, reason: "returned \(rewards.count) scores for \(completions.count) responses")
        }
        if let bad = rewards.firstIndex(where: { !$0.isFinite }) {
            throw RewardError(source: reward.name, reason: "response \(bad + 1) of \(rewards.count) got a non-finite score (\(rewards[bad]))")
        }
        return completions.indices.map { i in
            let c = completions[i]
            return Rollout(
                group: c.group, sample: c.sample, promptTokens: c.prompt.tokens, responseTokens: c.tokens, responseText: c.text,
                finishReason: c.finishReason, oldLogProbs: old[i], samplerLogProbs: c.samplerLogProbs,
                referenceLogProbs: referenceLogProbs[i], reward: rewards[i])
        }
    }
}
