import RLHFTensor

/// The Llama decoder block, written once for training (``LlamaModel/runTrunk(_:retained:)``) and
/// decoding (``LlamaModel/extendInPlace(_:with:)``):
///
///     x → RMSNorm → QKV → RoPE → attention → output projection → + x = mid
///     mid → RMSNorm → gate/up → SwiGLU → down → + mid = out
///
/// Each path supplies only its attention step: full causal attention that saves its
/// probabilities for backward (``Attention``), or attention over a key/value cache
/// (``DecodeAttention``). An architecture change (QKV bias, QK-norm, …) is made here once.
extension LlamaModel {
    /// One block's forward buffers, N rows each (C hidden, W packed QKV, Y = NH·HS, F intermediate).
    ///
    /// Training keeps every tensor for backward (``ActivationStorage``); decoding updates one
    /// residual stream in place, so there `middle` and `output` alias `input` and the two normed
    /// buffers alias each other.
    struct BlockBuffers {
        /// Residual stream into the block [N, C].
        let input: UnsafeMutablePointer<Float>
        /// RMSNorm(input) [N, C] and its reciprocal RMS per row [N].
        let normed1, rstd1: UnsafeMutablePointer<Float>
        /// Packed queries, keys, values after RoPE [N, W].
        let qkv: UnsafeMutablePointer<Float>
        /// Attention output before the output projection [N, Y].
        let attentionOutput: UnsafeMutablePointer<Float>
        /// input + attention sublayer [N, C].
        let middle: UnsafeMutablePointer<Float>
        /// RMSNorm(middle) [N, C] and its reciprocal RMS per row [N].
        let normed2, rstd2: UnsafeMutablePointer<Float>
        /// Gate and up projections [N, 2F], and silu(gate) ⊙ up [N, F].
        let gateUp, activated: UnsafeMutablePointer<Float>
        /// middle + MLP sublayer [N, C]: the next block's input.
        let output: UnsafeMutablePointer<Float>
        /// Quantized weights to project with (decoding with ``LlamaModel/quantizeForSampling(_:)``);
        /// nil: the float parameters.
        var samplingWeights: SamplingWeights? = nil
    }

    /// Block `l` on N rows: ``attentionInput(_:_:rows:sequenceLength:positions:)``, then the path's
    /// `attention` (reads `qkv`, writes `attentionOutput`), then the output projection with its
    /// residual, then ``mlpSublayer(_:_:rows:)``.
    ///
    /// Rows are `sequenceLength` apart per sequence; RoPE puts row r at position r % sequenceLength,
    /// or at `positions[r]` when given (decoding, where each row continues its own sequence).
    func blockForward(
        _ l: Int, _ v: BlockBuffers, rows N: Int, sequenceLength T: Int, positions: UnsafePointer<Int32>? = nil,
        attention: (_ qkv: UnsafeMutablePointer<Float>, _ attentionOutput: UnsafeMutablePointer<Float>) -> Void
    ) {
        attentionInput(l, v, rows: N, sequenceLength: T, positions: positions)
        attention(v.qkv, v.attentionOutput)
        attentionResidual(l, v, rows: N)
        mlpSublayer(l, v, rows: N)
    }

    /// x → RMSNorm → QKV GEMM → RoPE on queries and keys: fills `normed1`, `rstd1` and `qkv`.
    func attentionInput(_ l: Int, _ v: BlockBuffers, rows N: Int, sequenceLength T: Int, positions: UnsafePointer<Int32>?) {
        let c = configuration, o = layout.blocks[l], P = parameters.pointer
        let NH = c.attentionHeadCount, KVH = c.keyValueHeadCount, HS = c.headDimension
        let C = c.hiddenSize, W = c.queryWidth + 2 * c.keyValueWidth
        RMSNorm.forward(input: v.input, weight: P + o.attentionNorm, output: v.normed1, reciprocalRMS: v.rstd1,
                        rows: N, width: C, epsilon: c.rmsNormEpsilon)
        project(v.normed1, weight: o.queryKeyValue, using: v.samplingWeights, into: v.qkv, rows: N, inFeatures: C, outFeatures: W)
        rotary.apply(v.qkv, rows: N, sequenceLength: T, width: W, column: 0, heads: NH, headDimension: HS, positions: positions)
        rotary.apply(v.qkv, rows: N, sequenceLength: T, width: W, column: NH * HS, heads: KVH, headDimension: HS,
                     positions: positions)
    }

    /// middle = input + attentionOutput · W_oᵀ (in place when `middle` is `input`).
    func attentionResidual(_ l: Int, _ v: BlockBuffers, rows N: Int) {
        let c = configuration
        if v.middle != v.input { v.middle.update(from: v.input, count: N * c.hiddenSize) }
        project(v.attentionOutput, weight: layout.blocks[l].attentionOutput, using: v.samplingWeights, into: v.middle,
                rows: N, inFeatures: c.queryWidth, outFeatures: c.hiddenSize, accumulate: true)
    }

    /// mid → RMSNorm → gate/up GEMM → SwiGLU → down GEMM + mid: fills `normed2`, `rstd2`, `gateUp`,
    /// `activated` and `output` (in place when `output` is `middle`).
    func mlpSublayer(_ l: Int, _ v: BlockBuffers, rows N: Int) {
        let c = configuration, o = layout.blocks[l], P = parameters.pointer
        let C = c.hiddenSize, F = c.intermediateSize
        RMSNorm.forward(input: v.middle, weight: P + o.mlpNorm, output: v.normed2, reciprocalRMS: v.rstd2,
                        rows: N, width: C, epsilon: c.rmsNormEpsilon)
        project(v.normed2, weight: o.gateUp, using: v.samplingWeights, into: v.gateUp, rows: N, inFeatures: C, outFeatures: 2 * F)
        SwiGLU.forward(gateUp: v.gateUp, output: v.activated, rows: N, width: F)
        if v.output != v.middle { v.output.update(from: v.middle, count: N * C) }
        project(v.activated, weight: o.down, using: v.samplingWeights, into: v.output, rows: N, inFeatures: F, outFeatures: C, accumulate: true)
    }
}

extension LlamaModel.BlockBuffers {
    /// Block buffers of the training/teacher-forced forward pass (probabilities are the attention
    /// step's own output).
    init(_ v: ActivationStorage.BlockActivations) {
        self.init(
            input: v.input, normed1: v.normed1, rstd1: v.rstd1, qkv: v.qkv, attentionOutput: v.attentionOutput,
            middle: v.middle, normed2: v.normed2, rstd2: v.rstd2, gateUp: v.gateUp, activated: v.activated, output: v.output)
    }
}
