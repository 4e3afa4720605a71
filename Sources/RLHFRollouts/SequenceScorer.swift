import RLHFModel

/// Teacher-forced per-token log-probs of responses under any model, in batches: the same
/// kernels the update's forward pass uses, so a policy's "old" log-probs and the first epoch's
/// new ones agree exactly (PPO/P3O ratios are exactly 1 there).
public enum SequenceScorer {
    /// log p(response token i | prompt, response < i) for every response, `batchSize` rows per
    /// forward pass (rows are grouped in order; padding never changes a row's values).
    public static func tokenLogProbs(
        model: LlamaModel, prompts: [[Int]], responses: [[Int]], batchSize: Int = 16
    ) throws -> [[Float]] {
        precondition(prompts.count == responses.count, "one response per prompt")
        var result = [[Float]]()
        result.reserveCapacity(prompts.count)
        let padding = model.configuration.paddingTokenId ?? 0
        for start in stride(from: 0, to: prompts.count, by: max(1, batchSize)) {
            let end = min(prompts.count, start + max(1, batchSize))
            let spans = ResponseSpans(
                prompts: Array(prompts[start..<end]), responses: Array(responses[start..<end]), paddingToken: padding)
            result += spans.gather(try model.forward(spans.batch).tokenLogProbs)
        }
        return result
    }

    /// The token log-probs of the same responses under two models that share their embeddings and
    /// blocks 0..<`sharingBlocks` (0: nothing shared, each runs whole): the shared part runs once
    /// per batch, from the first model.
    public static func tokenLogProbs(
        models: (LlamaModel, LlamaModel), sharingBlocks shared: Int, prompts: [[Int]], responses: [[Int]], batchSize: Int = 16
    ) throws -> ([[Float]], [[Float]]) {
        guard shared > 0 else {
            return (try tokenLogProbs(model: models.0, prompts: prompts, responses: responses, batchSize: batchSize),
                    try tokenLogProbs(model: models.1, prompts: prompts, responses: responses, batchSize: batchSize))
        }
        var first = [[Float]](), second = [[Float]]()
        let padding = models.0.configuration.paddingTokenId ?? 0
        for start in stride(from: 0, to: prompts.count, by: max(1, batchSize)) {
            let end = min(prompts.count, start + max(1, batchSize))
            let spans = ResponseSpans(prompts: Array(prompts[start..<end]), responses: Array(responses[start..<end]), paddingToken: padding)
            let states = try models.0.trunkStates(for: spans.batch, enteringBlock: shared)
            first += spans.gather(try models.0.forward(spans.batch, from: states).tokenLogProbs)
            second += spans.gather(try models.1.forward(spans.batch, from: states).tokenLogProbs)
        }
        return (first, second)
    }
}
