import RLHFTensor

/// Everything the forward pass keeps for the backward pass, plus backward scratch, for one batch
/// shape (llm.c's `ActivationTensors`). Per-layer tensors have `slots` copies: one per block from
/// `firstBlock` up when retained for backward (a pass that starts from frozen-trunk states keeps
/// nothing below its first block), a single reused one for inference.
///
/// Shapes (N = B·T rows, W = (NH + 2·KVH)·HS, Y = NH·HS):
/// residual [slots+1, N, C] · normed1, normed2, middle [slots, N, C] · rstd1, rstd2 [slots, N] ·
/// qkv [slots, N, W] · probabilities [slots, B, NH, T, T] · attentionOutput [slots, N, Y] ·
/// gateUp [slots, N, 2F] · activated [slots, N, F] · finalNormed [N, C] · finalRstd [N].
final class ActivationStorage {
    let batchSize: Int, sequenceLength: Int, slots: Int, retained: Bool, firstBlock: Int
    let rows: Int
    let C: Int, W: Int, Y: Int, F: Int, NH: Int

    let tokens: UnsafeMutablePointer<Int32>
    let lengths: UnsafeMutablePointer<Int32>
    /// The batch's ``TokenBatch/logProbStarts`` (nil: every predicted position).
    var logProbStarts: [Int32]?
    let residual, normed1, rstd1, qkv, probabilities, attentionOutput: FloatBuffer
    let middle, normed2, rstd2, gateUp, activated: FloatBuffer
    let finalNormed, finalRstd: FloatBuffer

    // Output head state from the last forward pass.
    /// Rows (b·T + t) whose next-token log-prob was computed.
    var headRows: [Int] = []
    /// log Σ exp(logits) per head row.
    var headLogSumExp: [Float] = []
    /// Logits of all head rows when they fit the memory budget (then backward need not recompute).
    var cachedLogits: FloatBuffer?
    var forwardDone = false

    // Backward scratch, allocated on first backward.
    lazy var dResidual = FloatBuffer(count: rows * C)
    lazy var dNormed = FloatBuffer(count: rows * C)
    lazy var dQKV = FloatBuffer(count: rows * W)
    lazy var dAttentionOutput = FloatBuffer(count: rows * Y)
    lazy var dGateUp = FloatBuffer(count: rows * 2 * F)
    lazy var dActivated = FloatBuffer(count: rows * F)

    init(configuration c: LlamaConfiguration, batchSize B: Int, sequenceLength T: Int, retained: Bool, firstBlock: Int = 0) {
        batchSize = B
        sequenceLength = T
        self.retained = retained
        self.firstBlock = retained ? firstBlock : 0
        slots = retained ? c.blockCount - self.firstBlock : 1
        rows = B * T
        C = c.hiddenSize
        W = c.queryWidth + 2 * c.keyValueWidth
        Y = c.queryWidth
        F = c.intermediateSize
        NH = c.attentionHeadCount
        tokens = .allocate(capacity: max(1, rows))
        lengths = .allocate(capacity: max(1, B))
        residual = FloatBuffer(count: (retained ? slots + 1 : 2) * rows * C)
        normed1 = FloatBuffer(count: slots * rows * C)
        rstd1 = FloatBuffer(count: slots * rows)
        qkv = FloatBuffer(count: slots * rows * W)
        probabilities = FloatBuffer(count: slots * B * NH * T * T)
        attentionOutput = FloatBuffer(count: slots * rows * Y)
        middle = FloatBuffer(count: slots * rows * C)
        normed2 = FloatBuffer(count: slots * rows * C)
        rstd2 = FloatBuffer(count: slots * rows)
        gateUp = FloatBuffer(count: slots * rows * 2 * F)
        activated = FloatBuffer(count: slots * rows * F)
        finalNormed = FloatBuffer(count: rows * C)
        finalRstd = FloatBuffer(count: rows)
    }

    deinit {
        tokens.deallocate()
        lengths.deallocate()
    }

    func fits(batchSize B: Int, sequenceLength T: Int, retained: Bool, firstBlock: Int = 0) -> Bool {
        B == batchSize && T == sequenceLength && retained == self.retained && (!retained || firstBlock == self.firstBlock)
    }

    /// Input residual of block l (index l+1 holds its output).
    func residual(_ l: Int) -> UnsafeMutablePointer<Float> {
        precondition(!retained || l >= firstBlock, "block \(l) is below the first retained block \(firstBlock)")
        return residual.pointer + (retained ? l - firstBlock : l & 1) * rows * C
    }

    func slot(_ l: Int) -> Int { retained ? l - firstBlock : 0 }

    /// Named pointers to block l's saved tensors (shapes in the type's documentation).
    struct BlockActivations {
        let input, normed1, rstd1, qkv, probabilities, attentionOutput: UnsafeMutablePointer<Float>
        let middle, normed2, rstd2, gateUp, activated, output: UnsafeMutablePointer<Float>
    }

    func block(_ l: Int) -> BlockActivations {
        let k = slot(l), N = rows
        return BlockActivations(
            input: residual(l), normed1: normed1.pointer + k * N * C, rstd1: rstd1.pointer + k * N,
            qkv: qkv.pointer + k * N * W, probabilities: probabilities.pointer + k * batchSize * NH * sequenceLength * sequenceLength,
            attentionOutput: attentionOutput.pointer + k * N * Y, middle: middle.pointer + k * N * C,
            normed2: normed2.pointer + k * N * C, rstd2: rstd2.pointer + k * N, gateUp: gateUp.pointer + k * N * 2 * F,
            activated: activated.pointer + k * N * F, output: residual(l + 1))
    }
}
