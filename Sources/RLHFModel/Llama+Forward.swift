import RLHFTensor

extension LlamaModel {
    /// Runs the model on `batch`.
    ///
    /// - Parameters:
    ///   - tokenLogProbs: compute log p(token t | tokens < t) at every real position (teacher forcing).
    ///   - values: compute the scalar head at every real position (requires a scalar head).
    ///   - retainForBackward: keep activations for ``backward(tokenLogProbGradients:valueGradients:)``.
    /// - Throws: ``LlamaError`` for token ids outside the vocabulary or too-long sequences.
    public func forward(
        _ batch: TokenBatch, tokenLogProbs: Bool = true, values: Bool = false, retainForBackward: Bool = false
    ) throws -> LlamaOutput {
        if values && !hasScalarHead { throw LlamaError.noScalarHead }
        try check(batch)
        let s = runTrunk(batch, retained: retainForBackward)
        return heads(s, tokenLogProbs: tokenLogProbs, values: values, retained: retainForBackward)
    }

    /// The requested outputs of a finished trunk pass (shared by every forward entry point).
    func heads(_ s: ActivationStorage, tokenLogProbs: Bool, values: Bool, retained: Bool) -> LlamaOutput {
        var output = LlamaOutput(tokenLogProbs: [], values: [])
        if tokenLogProbs { output.tokenLogProbs = headForward(s) } else { s.headRows = [] }
        if values { output.values = scalarHeadForward(s) }
        s.forwardDone = retained
        return output
    }

    /// Full next-token logits [B, T, V]: entry [b, t] scores the token after position t.
    /// Rows at padded positions are zero. Materialises B·T·V floats: for tests and small batches.
    public func logits(for batch: TokenBatch) throws -> [Float] {
        try check(batch)
        let s = runTrunk(batch, retained: false)
        let V = configuration.vocabularySize, C = configuration.hiddenSize, T = batch.sequenceLength
        var result = [Float](repeating: 0, count: s.rows * V)
        result.withUnsafeMutableBufferPointer { out in
            linear(s.finalNormed.pointer, weight: parameters.pointer + layout.outputHead, into: out.baseAddress!,
                   rows: s.rows, inFeatures: C, outFeatures: V)
            for b in 0..<batch.batchSize {
                for t in Int(batch.lengths[b])..<T { (out.baseAddress! + (b * T + t) * V).update(repeating: 0, count: V) }
            }
        }
        return result
    }

    /// Final hidden states [B, T, C] after the last RMSNorm (what the heads read).
    public func hiddenStates(for batch: TokenBatch) throws -> [Float] {
        try check(batch)
        let s = runTrunk(batch, retained: false)
        return Array(UnsafeBufferPointer(start: s.finalNormed.pointer, count: s.rows * configuration.hiddenSize))
    }

    /// Embedding → blocks → final RMSNorm, filling the activation storage.
    func runTrunk(_ batch: TokenBatch, retained: Bool) -> ActivationStorage {
        runBlocks(batch, retained: retained, range: 0..<configuration.blockCount)
    }
}
