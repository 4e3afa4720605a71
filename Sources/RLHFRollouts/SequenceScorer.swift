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
}
