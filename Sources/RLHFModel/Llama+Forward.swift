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
        let V = configuration.vocabularySize, C = configuration.hiddenSize
        let logits = FloatBuffer(count: max(1, s.rows) * V)
        linear(s.finalNormed.pointer, weight: parameters.pointer + layout.outputHead, into: logits.pointer,
               rows: s.rows, inFeatures: C, outFeatures: V)
        return unpack(logits.pointer, width: V, packing: s.packing)
    }

    /// A [rows, width] matrix of a packed pass laid out [B, T, width], zero on padding.
    func unpack(_ rows: UnsafePointer<Float>, width: Int, packing: SequencePacking) -> [Float] {
        var result = [Float](repeating: 0, count: packing.batchSize * packing.sequenceLength * width)
        result.withUnsafeMutableBufferPointer { out in
            for (position, row) in packing.rowOfPosition.enumerated() where row >= 0 {
                (out.baseAddress! + position * width).update(from: rows + Int(row) * width, count: width)
            }
        }
        return result
    }

    /// Final hidden states [B, T, C] after the last RMSNorm (what the heads read).
    public func hiddenStates(for batch: TokenBatch) throws -> [Float] {
        try check(batch)
        let s = runTrunk(batch, retained: false)
        return unpack(s.finalNormed.pointer, width: configuration.hiddenSize, packing: s.packing)
    }

    /// Embedding → blocks → final RMSNorm, filling the activation storage.
    func runTrunk(_ batch: TokenBatch, retained: Bool) -> ActivationStorage {
        runBlocks(batch, retained: retained, range: 0..<configuration.blockCount)
    }
}
