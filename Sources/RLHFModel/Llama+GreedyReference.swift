/// A reference greedy decoder: re-runs the whole prefix for every new token (O(n²), no KV cache).
///
/// Slow but obviously right; it is the oracle the KV-cache sampler is tested against, and good
/// enough to show what a small model has learned.
extension LlamaModel {
    /// Appends up to `maximumNewTokens` argmax tokens to `prompt`, stopping after `stopToken`.
    /// Returns only the new tokens.
    public func greedyContinuationReference(
        prompt: [Int], maximumNewTokens: Int, stopToken: Int? = nil
    ) throws -> [Int] {
        var tokens = prompt
        var generated = [Int]()
        let V = configuration.vocabularySize
        let window = configuration.maximumSequenceLength
        for _ in 0..<maximumNewTokens {
            let context = Array(tokens.suffix(window))
            let logits = try self.logits(for: TokenBatch(rows: [context]))
            let last = logits[((context.count - 1) * V)..<(context.count * V)]
            var best = last.startIndex
            for index in last.indices where last[index] > last[best] { best = index }
            let token = best - last.startIndex
            tokens.append(token)
            generated.append(token)
            if token == stopToken { break }
        }
        return generated
    }
}
