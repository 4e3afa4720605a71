import RLHFTensor

/// Keys (after RoPE) and values of every block for a batch of sequences that grow token by token.
///
/// Layout: keys and values are each [L, B, KVH, capacity, HS]. Row b holds ``lengths``[b] cached
/// positions. Scratch buffers for ``LlamaModel/extend(_:with:)`` live here too, so decoding steps
/// allocate nothing.
public final class KeyValueCache: @unchecked Sendable {
    /// B.
    public let batchSize: Int
    /// Most positions a row can hold.
    public let capacity: Int
    /// Cached positions per row.
    public internal(set) var lengths: [Int]
    let blockCount: Int, keyValueHeads: Int, headDimension: Int
    let keys: FloatBuffer
    let values: FloatBuffer
    var scratch: DecodeScratch?
    /// [B, V] logits of the last ``LlamaModel/extend(_:with:)`` call, reused between calls.
    var logits: FloatBuffer?
    /// Final-norm inputs and head outputs of the rows being extended, reused between calls.
    var headInputs: FloatBuffer?, headOutputs: FloatBuffer?
    /// When set, every ``LlamaModel/extend(_:with:)`` appends the residual stream entering this
    /// block for each new position to ``capturedStates`` (what a trainer's frozen trunk would
    /// compute again for the same tokens).
    public var captureBlock: Int?
    /// Per row, [positions, C] floats entering ``captureBlock``, in position order.
    public internal(set) var capturedStates: [[Float]]

    /// An empty cache for `batchSize` rows of up to `capacity` positions.
    public init(configuration c: LlamaConfiguration, batchSize: Int, capacity: Int) {
        self.batchSize = batchSize
        self.capacity = capacity
        lengths = [Int](repeating: 0, count: batchSize)
        capturedStates = [[Float]](repeating: [], count: batchSize)
        blockCount = c.blockCount
        keyValueHeads = c.keyValueHeadCount
        headDimension = c.headDimension
        let count = c.blockCount * batchSize * c.keyValueHeadCount * capacity * c.headDimension
        keys = FloatBuffer(count: count)
        values = FloatBuffer(count: count)
    }

    /// Bytes held by keys and values.
    public var byteCount: Int { 2 * keys.count * MemoryLayout<Float>.stride }

    /// Makes row `target` a copy of `source`'s row `row` (every cached position of every block,
    /// and its captured states): a prompt prefilled once serves every row that samples from it.
    func copyRow(_ row: Int, of source: KeyValueCache, to target: Int) {
        precondition(source.blockCount == blockCount && source.keyValueHeads == keyValueHeads && source.headDimension == headDimension,
                     "caches of different models")
        let length = source.lengths[row]
        precondition(length <= capacity, "the source row does not fit")
        for l in 0..<blockCount {
            for h in 0..<keyValueHeads {
                let from = source.offset(block: l, row: row, head: h), to = offset(block: l, row: target, head: h)
                (keys.pointer + to).update(from: source.keys.pointer + from, count: length * headDimension)
                (values.pointer + to).update(from: source.values.pointer + from, count: length * headDimension)
            }
        }
        lengths[target] = length
        capturedStates[target] = source.capturedStates[row]
    }

    /// Offset of (block l, row b, KV head h, position 0).
    @inline(__always) func offset(block l: Int, row b: Int, head h: Int) -> Int {
        (((l * batchSize + b) * keyValueHeads + h) * capacity) * headDimension
    }
}

/// Per-call buffers of the incremental forward pass, sized for N = B·(new tokens per row) rows.
final class DecodeScratch {
    let rows: Int
    let residual, normed, reciprocalRMS, qkv, attentionOutput, gateUp, activated: FloatBuffer
    let tokens: UnsafeMutablePointer<Int32>
    let positions: UnsafeMutablePointer<Int32>

    init(configuration c: LlamaConfiguration, rows N: Int) {
        rows = N
        let W = c.queryWidth + 2 * c.keyValueWidth
        residual = FloatBuffer(count: N * c.hiddenSize)
        normed = FloatBuffer(count: N * c.hiddenSize)
        reciprocalRMS = FloatBuffer(count: N)
        qkv = FloatBuffer(count: N * W)
        attentionOutput = FloatBuffer(count: N * c.queryWidth)
        gateUp = FloatBuffer(count: N * 2 * c.intermediateSize)
        activated = FloatBuffer(count: N * c.intermediateSize)
        tokens = .allocate(capacity: N)
        positions = .allocate(capacity: N)
    }

    deinit {
        tokens.deallocate()
        positions.deallocate()
    }
}
