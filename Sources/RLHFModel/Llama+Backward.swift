import RLHFTensor

extension LlamaModel {
    /// Back-propagates gradients of a loss with respect to the last forward pass's outputs and
    /// accumulates ∂L/∂θ into ``gradients`` for the ``trainable`` parameters.
    ///
    /// - Parameters:
    ///   - tokenLogProbGradients: [B, T] ∂L/∂ log p(token t), aligned with ``LlamaOutput/tokenLogProbs``.
    ///   - valueGradients: [B, T] ∂L/∂ value, aligned with ``LlamaOutput/values``.
    /// Entries at positions without an output are ignored. Each forward pass supports one backward.
    public func backward(tokenLogProbGradients: [Float]? = nil, valueGradients: [Float]? = nil) throws {
        guard let s = trainingStorage, s.forwardDone else { throw LlamaError.backwardWithoutForward }
        let positions = s.batchSize * s.sequenceLength
        if let g = tokenLogProbGradients, g.count != positions {
            throw LlamaError.gradientCountMismatch(what: "tokenLogProbGradients", expected: positions, actual: g.count)
        }
        if let g = valueGradients {
            if !hasScalarHead { throw LlamaError.noScalarHead }
            if g.count != positions {
                throw LlamaError.gradientCountMismatch(what: "valueGradients", expected: positions, actual: g.count)
            }
        }
        let lowestNeeded = trainable.tokenEmbedding ? 0 : min(trainable.lowestTrainableBlock, configuration.blockCount)
        if lowestNeeded < trainingStartBlock {
            throw LlamaError.backwardBelowStartBlock(lowestTrainable: lowestNeeded, startBlock: trainingStartBlock)
        }
        s.forwardDone = false
        let c = configuration
        let N = s.rows, C = s.C
        let P = parameters.pointer, G = gradients.pointer
        let dHidden = s.dNormed.pointer
        dHidden.update(repeating: 0, count: N * C)
        if let g = tokenLogProbGradients {
            g.withUnsafeBufferPointer { headBackward(s, gradients: $0.baseAddress!, hiddenGradient: dHidden) }
        }
        if let g = valueGradients {
            g.withUnsafeBufferPointer { scalarHeadBackward(s, gradients: $0.baseAddress!, hiddenGradient: dHidden) }
        }

        // Below the heads: the final RMSNorm, then blocks top-down to the lowest one that trains.
        let embeddingTrains = trainable.tokenEmbedding
        let lowest = embeddingTrains ? 0 : min(trainable.lowestTrainableBlock, c.blockCount)

        let dResidual = s.dResidual.pointer
        dResidual.update(repeating: 0, count: N * C)
        RMSNorm.backward(
            outputGradient: dHidden, input: s.residual(c.blockCount), weight: P + layout.finalNorm,
            reciprocalRMS: s.finalRstd.pointer, inputGradient: lowest < c.blockCount ? dResidual : nil,
            weightGradient: trainable.finalNorm ? G + layout.finalNorm : nil, rows: N, width: C)
        for l in stride(from: c.blockCount - 1, through: lowest, by: -1) where lowest < c.blockCount {
            blockBackward(l, s, needInputGradient: l > lowest || embeddingTrains)
        }
        if embeddingTrains {
            Embedding.backward(tokens: s.tokens, outputGradient: dResidual, tableGradient: G + layout.tokenEmbedding,
                               rows: N, width: C, skippedToken: c.paddingTokenId)
        }
    }

    /// One block in reverse. On entry `dResidual` holds ∂L/∂(block output); on exit ∂L/∂(block input)
    /// (when `needInputGradient`).
    private func blockBackward(_ l: Int, _ s: ActivationStorage, needInputGradient: Bool) {
        let c = configuration
        let N = s.rows, C = s.C, W = s.W, Y = s.Y, F = s.F
        let NH = c.attentionHeadCount, KVH = c.keyValueHeadCount, HS = c.headDimension
        let o = layout.blocks[l], v = s.block(l)
        let P = parameters.pointer
        let trains = l >= trainable.lowestTrainableBlock
        let G: UnsafeMutablePointer<Float>? = trains ? gradients.pointer : nil
        let x = v.input, xn1 = v.normed1, r1 = v.rstd1, qkv = v.qkv, att = v.probabilities
        let y = v.attentionOutput, mid = v.middle, xn2 = v.normed2, r2 = v.rstd2, gu = v.gateUp, a = v.activated
        let dResidual = s.dResidual.pointer, dNormed = s.dNormed.pointer
        let T = s.sequenceLength
        let shape = AttentionShape(batchSize: s.batchSize, sequenceLength: T, queryHeads: NH, keyValueHeads: KVH, headDimension: HS)

        // MLP. Forward: out = mid + down(silu(gate(xn2)) ⊙ up(xn2)), xn2 = RMSNorm(mid).
        if let G {
            linearWeightGradient(outputGradient: dResidual, input: a, into: G + o.down, rows: N, inFeatures: F, outFeatures: C)
        }
        linearInputGradient(outputGradient: dResidual, weight: P + o.down, into: s.dActivated.pointer,
                            rows: N, inFeatures: F, outFeatures: C, accumulate: false)
        SwiGLU.backward(outputGradient: s.dActivated.pointer, gateUp: gu, gateUpGradient: s.dGateUp.pointer, rows: N, width: F)
        if let G {
            linearWeightGradient(outputGradient: s.dGateUp.pointer, input: xn2, into: G + o.gateUp,
                                 rows: N, inFeatures: C, outFeatures: 2 * F)
        }
        linearInputGradient(outputGradient: s.dGateUp.pointer, weight: P + o.gateUp, into: dNormed,
                            rows: N, inFeatures: C, outFeatures: 2 * F, accumulate: false)
        // dResidual becomes ∂L/∂mid: the residual path plus the normalised branch.
        RMSNorm.backward(outputGradient: dNormed, input: mid, weight: P + o.mlpNorm, reciprocalRMS: r2,
                         inputGradient: dResidual, weightGradient: G.map { $0 + o.mlpNorm }, rows: N, width: C)

        // Attention. Forward: mid = x + o_proj(attention(rope(qkv(xn1)))), xn1 = RMSNorm(x).
        if let G {
            linearWeightGradient(outputGradient: dResidual, input: y, into: G + o.attentionOutput,
                                 rows: N, inFeatures: Y, outFeatures: C)
        }
        linearInputGradient(outputGradient: dResidual, weight: P + o.attentionOutput, into: s.dAttentionOutput.pointer,
                            rows: N, inFeatures: Y, outFeatures: C, accumulate: false)
        let dqkv = s.dQKV.pointer
        dqkv.update(repeating: 0, count: N * W)
        Attention.backward(outputGradient: s.dAttentionOutput.pointer, queryKeyValue: qkv, probabilities: att,
                           packing: s.packing, shape: shape, scratch: s.attentionScratch.pointer, queryKeyValueGradient: dqkv)
        s.packing.position.withUnsafeBufferPointer { positions in
            rotary.apply(dqkv, rows: N, sequenceLength: T, width: W, column: 0, heads: NH, headDimension: HS, inverse: true,
                         positions: positions.baseAddress)
            rotary.apply(dqkv, rows: N, sequenceLength: T, width: W, column: NH * HS, heads: KVH, headDimension: HS, inverse: true,
                         positions: positions.baseAddress)
        }
        if let G {
            linearWeightGradient(outputGradient: dqkv, input: xn1, into: G + o.queryKeyValue, rows: N, inFeatures: C, outFeatures: W)
        }
        guard needInputGradient || trains else { return }
        linearInputGradient(outputGradient: dqkv, weight: P + o.queryKeyValue, into: dNormed,
                            rows: N, inFeatures: C, outFeatures: W, accumulate: false)
        RMSNorm.backward(outputGradient: dNormed, input: x, weight: P + o.attentionNorm, reciprocalRMS: r1,
                         inputGradient: needInputGradient ? dResidual : nil,
                         weightGradient: G.map { $0 + o.attentionNorm }, rows: N, width: C)
    }
}
