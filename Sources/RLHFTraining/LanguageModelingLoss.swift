import RLHFModel

/// Token-level negative log-likelihood, the SFT loss, from the model's [B, T] log-probs.
public enum LanguageModelingLoss {
    /// Mean of −log p(token t) over every predicted position (1 ≤ t < length) whose `weights`
    /// entry is non-zero (all positions when `weights` is nil; a prompt mask zeroes prompt tokens),
    /// weighted by `weights`. Returns the loss and its gradient with respect to the log-probs.
    ///
    /// With `weights == nil` this is Hugging Face's `labels = input_ids` causal-LM loss.
    public static func mean(
        logProbs: [Float], batch: TokenBatch, weights: [Float]? = nil
    ) -> (loss: Double, gradient: [Float]) {
        let B = batch.batchSize, T = batch.sequenceLength
        precondition(logProbs.count == B * T, "log-probs must be [B, T]")
        precondition(weights == nil || weights?.count == B * T, "weights must be [B, T]")
        var total = 0.0
        for b in 0..<B {
            for t in 1..<max(1, Int(batch.lengths[b])) { total += Double(weights?[b * T + t] ?? 1) }
        }
        var gradient = [Float](repeating: 0, count: B * T)
        guard total > 0 else { return (0, gradient) }
        var loss = 0.0
        for b in 0..<B {
            for t in 1..<max(1, Int(batch.lengths[b])) {
                let i = b * T + t
                let w = Double(weights?[i] ?? 1)
                loss -= w * Double(logProbs[i])
                gradient[i] = Float(-w / total)
            }
        }
        return (loss / total, gradient)
    }
}
