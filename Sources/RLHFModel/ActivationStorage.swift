import RLHFTensor

/// Everything the forward pass keeps for the backward pass, plus backward scratch (llm.c's
/// `ActivationTensors`), for batches of up to `rowCapacity` rows: the rows of a
/// ``SequencePacking`` (real positions only, shared prefixes once). Per-layer tensors have `slots`
/// copies: one per block from `firstBlock` up when retained for backward (a pass that starts from
/// frozen-trunk states keeps nothing below its first block), a single reused one for inference.
/// A storage is reused by every later batch that fits it, so a training loop whose batches do not
/// grow allocates nothing here.
///
/// Shapes (N = rowCapacity, W = (NH + 2·KVH)·HS, Y = NH·HS, A = probabilityCapacity):
/// residual [slots+1, N, C] · normed1, normed2, middle [slots, N, C] · rstd1, rstd2 [slots, N] ·
/// qkv [slots, N, W] · probabilities [slots, A] · attentionOutput [slots, N, Y] ·
/// gateUp [slots, N, 2F] · activated [slots, N, F] · finalNormed [N, C] · finalRstd [N].
final class ActivationStorage {
    let rowCapacity: Int, probabilityCapacity: Int, slots: Int, retained: Bool, firstBlock: Int
    let C: Int, W: Int, Y: Int, F: Int, NH: Int

    /// The batch of the last pass: its layout, the rows in use, the [B] lengths.
    private(set) var packing: SequencePacking
    var rows: Int { packing.rowCount }
    var batchSize: Int { packing.batchSize }
    var sequenceLength: Int { packing.sequenceLength }
    private(set) var lengths: [Int32] = []
    /// The token at each row.
    let tokens: UnsafeMutablePointer<Int32>
    /// The batch's [B, T] tokens (the head's targets).
    private(set) var batchTokens: [Int32] = []
    /// The batch's ``TokenBatch/logProbStarts`` (nil: every predicted position).
    var logProbStarts: [Int32]?
    let residual, normed1, rstd1, qkv, probabilities, attentionOutput: FloatBuffer
    let middle, normed2, rstd2, gateUp, activated: FloatBuffer
    let finalNormed, finalRstd: FloatBuffer

    // Output head state from the last forward pass.
    /// Rows whose logits were computed (each once, however many sequences read it).
    var headRows: [Int] = []
    /// log Σ exp(logits) per head row.
    var headLogSumExp: [Float] = []
    /// The scored positions of head row i (a shared row predicts the next token of every sequence
    /// it is in): `headTargetStarts[i]..<headTargetStarts[i + 1]` index `headTargetPositions`
    /// ([B, T] index of the predicted token) and `headTargetTokens` (that token).
    var headTargetStarts: [Int32] = [], headTargetPositions: [Int32] = [], headTargetTokens: [Int32] = []
    /// Logits of all head rows when they fit the memory budget (then backward need not recompute).
    var cachedLogits: FloatBuffer?
    var forwardDone = false

    // Backward scratch, allocated on first backward.
    // (Every backward writes or zeroes the rows it reads.)
    lazy var dResidual = FloatBuffer(uninitializedCount: rowCapacity * C)
    lazy var dNormed = FloatBuffer(uninitializedCount: rowCapacity * C)
    lazy var dQKV = FloatBuffer(uninitializedCount: rowCapacity * W)
    lazy var dAttentionOutput = FloatBuffer(uninitializedCount: rowCapacity * Y)
    lazy var dGateUp = FloatBuffer(uninitializedCount: rowCapacity * 2 * F)
    lazy var dActivated = FloatBuffer(uninitializedCount: rowCapacity * F)
    /// Attention backward's per-stripe key/value gradients (``Attention/backwardScratchCount(rows:shape:)``).
    lazy var attentionScratch = FloatBuffer(uninitializedCount: max(1, (Parallel.threadCount - 1) * rowCapacity * (W - Y)))

    init(configuration c: LlamaConfiguration, rowCapacity: Int, probabilityCapacity: Int, retained: Bool, firstBlock: Int = 0) {
        self.rowCapacity = max(1, rowCapacity)
        self.probabilityCapacity = max(1, probabilityCapacity)
        self.retained = retained
        self.firstBlock = retained ? firstBlock : 0
        slots = retained ? c.blockCount - self.firstBlock : 1
        C = c.hiddenSize
        W = c.queryWidth + 2 * c.keyValueWidth
        Y = c.queryWidth
        F = c.intermediateSize
        NH = c.attentionHeadCount
        packing = SequencePacking(TokenBatch(tokens: [], lengths: [], sequenceLength: 0), sharingPrefixes: false, heads: NH)
        let N = self.rowCapacity
        tokens = .allocate(capacity: N)
        residual = FloatBuffer(uninitializedCount: (retained ? slots + 1 : 2) * N * C)
        normed1 = FloatBuffer(uninitializedCount: slots * N * C)
        rstd1 = FloatBuffer(uninitializedCount: slots * N)
        qkv = FloatBuffer(uninitializedCount: slots * N * W)
        probabilities = FloatBuffer(uninitializedCount: slots * self.probabilityCapacity)
        attentionOutput = FloatBuffer(uninitializedCount: slots * N * Y)
        middle = FloatBuffer(uninitializedCount: slots * N * C)
        normed2 = FloatBuffer(uninitializedCount: slots * N * C)
        rstd2 = FloatBuffer(uninitializedCount: slots * N)
        gateUp = FloatBuffer(uninitializedCount: slots * N * 2 * F)
        activated = FloatBuffer(uninitializedCount: slots * N * F)
        finalNormed = FloatBuffer(uninitializedCount: N * C)
        finalRstd = FloatBuffer(uninitializedCount: N)
    }

    deinit {
        tokens.deallocate()
    }

    func fits(_ packing: SequencePacking, retained: Bool, firstBlock: Int = 0) -> Bool {
        packing.rowCount <= rowCapacity && packing.probabilityCount <= probabilityCapacity
            && retained == self.retained && (!retained || firstBlock == self.firstBlock)
    }

    /// Makes `batch`, laid out by `packing`, the storage's current batch: its tokens per row.
    func load(_ batch: TokenBatch, packing: SequencePacking) {
        precondition(fits(packing, retained: retained, firstBlock: firstBlock), "the batch does not fit this storage")
        self.packing = packing
        lengths = batch.lengths
        batchTokens = batch.tokens
        logProbStarts = batch.logProbStarts
        let T = batch.sequenceLength
        for b in 0..<batch.batchSize {
            for t in 0..<Int(batch.lengths[b]) {
                let row = Int(packing.rowOfPosition[b * T + t])
                tokens[row] = batch.tokens[b * T + t]
            }
        }
    }

    /// Input residual of block l (index l+1 holds its output).
    func residual(_ l: Int) -> UnsafeMutablePointer<Float> {
        precondition(!retained || l >= firstBlock, "block \(l) is below the first retained block \(firstBlock)")
        return residual.pointer + (retained ? l - firstBlock : l & 1) * rowCapacity * C
    }

    func slot(_ l: Int) -> Int { retained ? l - firstBlock : 0 }

    /// Named pointers to block l's saved tensors (shapes in the type's documentation).
    struct BlockActivations {
        let input, normed1, rstd1, qkv, probabilities, attentionOutput: UnsafeMutablePointer<Float>
        let middle, normed2, rstd2, gateUp, activated, output: UnsafeMutablePointer<Float>
    }

    func block(_ l: Int) -> BlockActivations {
        let k = slot(l), N = rowCapacity
        return BlockActivations(
            input: residual(l), normed1: normed1.pointer + k * N * C, rstd1: rstd1.pointer + k * N,
            qkv: qkv.pointer + k * N * W, probabilities: probabilities.pointer + k * probabilityCapacity,
            attentionOutput: attentionOutput.pointer + k * N * Y, middle: middle.pointer + k * N * C,
            normed2: normed2.pointer + k * N * C, rstd2: rstd2.pointer + k * N, gateUp: gateUp.pointer + k * N * 2 * F,
            activated: activated.pointer + k * N * F, output: residual(l + 1))
    }
}

extension ActivationStorage {
    /// Raw views of the head's target tables, for the head's inner loops.
    struct HeadTargets: @unchecked Sendable {
        let starts, positions, tokens: UnsafePointer<Int32>
    }

    func withHeadTargets<Result>(_ body: (HeadTargets) throws -> Result) rethrows -> Result {
        try headTargetStarts.withUnsafeBufferPointer { starts in
            try headTargetPositions.withUnsafeBufferPointer { positions in
                try headTargetTokens.withUnsafeBufferPointer { tokens in
                    try body(HeadTargets(starts: starts.baseAddress!, positions: positions.baseAddress!, tokens: tokens.baseAddress!))
                }
            }
        }
    }
}
