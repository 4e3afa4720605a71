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
        var output = LlamaOutput(tokenLogProbs: [], values: [])
        if tokenLogProbs { output.tokenLogProbs = headForward(s) } else { s.headRows = [] }
        if values { output.values = scalarHeadForward(s) }
        s.forwardDone = retainForBackward
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
        let c = configuration
        let B = batch.batchSize, T = batch.sequenceLength
        let existing = retained ? trainingStorage : inferenceStorage
        let s: ActivationStorage
        if let existing, existing.fits(batchSize: B, sequenceLength: T, retained: retained) {
            s = existing
        } else {
            // Release the old activations before allocating new ones.
            if retained { trainingStorage = nil } else { inferenceStorage = nil }
            s = ActivationStorage(configuration: c, batchSize: B, sequenceLength: T, retained: retained)
            if retained { trainingStorage = s } else { inferenceStorage = s }
        }
        s.forwardDone = false
        batch.tokens.withUnsafeBufferPointer { s.tokens.update(from: $0.baseAddress!, count: s.rows) }
        batch.lengths.withUnsafeBufferPointer { s.lengths.update(from: $0.baseAddress!, count: B) }
        let N = s.rows, C = s.C, W = s.W, Y = s.Y, F = s.F
        let NH = c.attentionHeadCount, KVH = c.keyValueHeadCount, HS = c.headDimension
        let P = parameters.pointer
        let shape = AttentionShape(batchSize: B, sequenceLength: T, queryHeads: NH, keyValueHeads: KVH, headDimension: HS)

        Embedding.forward(tokens: s.tokens, table: P + layout.tokenEmbedding, output: s.residual(0), rows: N, width: C)
        for l in 0..<c.blockCount {
            let o = layout.blocks[l], v = s.block(l)
            let x = v.input, xn1 = v.normed1, r1 = v.rstd1, qkv = v.qkv, att = v.probabilities
            let y = v.attentionOutput, mid = v.middle, xn2 = v.normed2, r2 = v.rstd2
            let gu = v.gateUp, a = v.activated, out = v.output

            // Attention: x → RMSNorm → QKV → RoPE → causal attention → output projection → + x.
            RMSNorm.forward(input: x, weight: P + o.attentionNorm, output: xn1, reciprocalRMS: r1,
                            rows: N, width: C, epsilon: c.rmsNormEpsilon)
            linear(xn1, weight: P + o.queryKeyValue, into: qkv, rows: N, inFeatures: C, outFeatures: W)
            rotary.apply(qkv, rows: N, sequenceLength: T, width: W, column: 0, heads: NH, headDimension: HS)
            rotary.apply(qkv, rows: N, sequenceLength: T, width: W, column: NH * HS, heads: KVH, headDimension: HS)
            Attention.forward(queryKeyValue: qkv, lengths: s.lengths, shape: shape, probabilities: att, output: y)
            mid.update(from: x, count: N * C)
            linear(y, weight: P + o.attentionOutput, into: mid, rows: N, inFeatures: Y, outFeatures: C, accumulate: true)

            // MLP: mid → RMSNorm → gate/up → SwiGLU → down → + mid.
            RMSNorm.forward(input: mid, weight: P + o.mlpNorm, output: xn2, reciprocalRMS: r2,
                            rows: N, width: C, epsilon: c.rmsNormEpsilon)
            linear(xn2, weight: P + o.gateUp, into: gu, rows: N, inFeatures: C, outFeatures: 2 * F)
            SwiGLU.forward(gateUp: gu, output: a, rows: N, width: F)
            out.update(from: mid, count: N * C)
            linear(a, weight: P + o.down, into: out, rows: N, inFeatures: F, outFeatures: C, accumulate: true)
        }
        RMSNorm.forward(input: s.residual(c.blockCount), weight: P + layout.finalNorm, output: s.finalNormed.pointer,
                        reciprocalRMS: s.finalRstd.pointer, rows: N, width: C, epsilon: c.rmsNormEpsilon)
        return s
    }
}
