import RLHFTensor

/// Causal grouped-query self-attention over a QKV matrix whose rows are a ``SequencePacking``'s.
///
/// Shapes (NH query heads, KVH key/value heads, HS head size, N rows):
/// - qkv [N, W] with W = (NH + 2·KVH)·HS: per row, NH query heads, then KVH key heads, then KVH
///   value heads (RoPE already applied to queries and keys);
/// - probabilities: per row at position t, NH × (t + 1) floats (saved for backward);
/// - output y [N, NH·HS].
/// Query head h reads key/value head h / (NH / KVH). A row attends only to the rows of its own
/// sequence's earlier positions, so padding and other sequences never leak into results.
/// (`batchSize` and `sequenceLength` of the shape matter only to the right-padded entry points.)
public struct AttentionShape: Sendable {
    public let batchSize: Int, sequenceLength: Int
    public let queryHeads: Int, keyValueHeads: Int, headDimension: Int

    public init(batchSize: Int, sequenceLength: Int, queryHeads: Int, keyValueHeads: Int, headDimension: Int) {
        self.batchSize = batchSize
        self.sequenceLength = sequenceLength
        self.queryHeads = queryHeads
        self.keyValueHeads = keyValueHeads
        self.headDimension = headDimension
    }

    /// W: floats per row of the packed QKV matrix.
    public var packedWidth: Int { (queryHeads + 2 * keyValueHeads) * headDimension }
    /// Floats per row of the attention output.
    public var outputWidth: Int { queryHeads * headDimension }
}

public enum Attention {
    /// Computes softmax(q·kᵀ/√HS + causal mask)·v for every row and head of a packed batch: row r
    /// (sequence b = `owner[r]`, position t) attends to the rows of b's positions 0...t. Its
    /// probabilities go to `probabilities + probabilityOffsets[r]`, head by head (t + 1 each).
    public static func forward(
        queryKeyValue qkv: UnsafePointer<Float>, packing: SequencePacking, shape: AttentionShape,
        probabilities att: UnsafeMutablePointer<Float>, output y: UnsafeMutablePointer<Float>
    ) {
        let T = packing.sequenceLength, NH = shape.queryHeads, HS = shape.headDimension
        let W = shape.packedWidth, Y = shape.outputWidth
        let group = NH / shape.keyValueHeads
        let scale = 1 / Float(HS).squareRoot()
        let stripes = packing.stripes(2 * Parallel.threadCount)
        guard !stripes.isEmpty else { return }
        nonisolated(unsafe) let qkv = qkv, att = att, y = y
        packing.withRowTables { tables in
            Parallel.forEach(count: stripes.count * NH) { task in
                let h = task % NH, kvh = h / group
                let keyColumn = NH * HS + kvh * HS
                let valueColumn = (NH + shape.keyValueHeads) * HS + kvh * HS
                for r in stripes[task / NH] {
                    let t = Int(tables.position[r])
                    guard t >= 0 else { continue }
                    let keys = tables.rowOfPosition + Int(tables.owner[r]) * T
                    let p = att + tables.probabilityOffsets[r] + h * (t + 1)
                    let out = y + r * Y + h * HS
                    out.update(repeating: 0, count: HS)
                    let q = qkv + r * W + h * HS
                    var maximum = -Float.infinity
                    for s in 0...t {
                        let score = VectorMath.dot(q, qkv + Int(keys[s]) * W + keyColumn, count: HS) * scale
                        p[s] = score
                        maximum = max(maximum, score)
                    }
                    let sum = VectorMath.expShifted(p, shift: maximum, into: p, count: t + 1)
                    let inverse = 1 / sum
                    for s in 0...t {
                        p[s] *= inverse
                        VectorMath.addScaled(qkv + Int(keys[s]) * W + valueColumn, scale: p[s], to: out, count: HS)
                    }
                }
            }
        }
    }

    /// Floats of scratch ``backward(outputGradient:queryKeyValue:probabilities:packing:shape:scratch:queryKeyValueGradient:)``
    /// needs for `rows` rows: key and value gradients of all but one of its stripes.
    public static func backwardScratchCount(rows: Int, shape: AttentionShape) -> Int {
        max(0, Parallel.threadCount - 1) * rows * 2 * shape.keyValueHeads * shape.headDimension
    }

    /// Accumulates dqkv from dy. `dqkv` must be zeroed by the caller (key/value gradients of one
    /// KV head gather contributions from all its query heads, and a shared row's from every
    /// sequence that attends to it).
    ///
    /// In the forward pass y_t = Σ_s p_ts v_s with p_t = softmax(q_t·k_s·scale), so
    /// dv_s += p_ts dy_t; dp_ts = dy_t·v_s; ds_ts = p_ts (dp_ts − Σ_s' p_ts' dp_ts');
    /// dq_t += scale Σ_s ds_ts k_s; dk_s += scale ds_ts q_t.
    ///
    /// The query rows are split into one stripe per thread and KV head: a query's gradient is
    /// its stripe's alone, but the keys it reads may be shared with rows of other stripes, so
    /// every stripe but the first sums key and value gradients into its own part of `scratch`
    /// (``backwardScratchCount(rows:shape:)`` floats; nil: allocated here), added in at the end.
    public static func backward(
        outputGradient dy: UnsafePointer<Float>, queryKeyValue qkv: UnsafePointer<Float>,
        probabilities att: UnsafePointer<Float>, packing: SequencePacking, shape: AttentionShape,
        scratch: UnsafeMutablePointer<Float>? = nil, queryKeyValueGradient dqkv: UnsafeMutablePointer<Float>
    ) {
        let T = packing.sequenceLength, NH = shape.queryHeads, KVH = shape.keyValueHeads
        let HS = shape.headDimension, W = shape.packedWidth, Y = shape.outputWidth
        let group = NH / KVH
        let scale = 1 / Float(HS).squareRoot()
        let N = packing.rowCount, KV = 2 * KVH * HS
        let stripes = packing.stripes(Parallel.threadCount)
        guard !stripes.isEmpty else { return }
        let needed = (stripes.count - 1) * N * KV
        let owned = scratch == nil && needed > 0 ? UnsafeMutablePointer<Float>.allocate(capacity: needed) : nil
        defer { owned?.deallocate() }
        nonisolated(unsafe) let qkv = qkv, att = att, dy = dy, dqkv = dqkv
        nonisolated(unsafe) let accumulators = scratch ?? owned
        if needed > 0 { accumulators!.update(repeating: 0, count: needed) }
        packing.withRowTables { tables in
            Parallel.forEach(count: stripes.count * KVH) { task in
                let stripe = task / KVH, kvh = task % KVH
                // Where this stripe's key/value gradients go: dqkv's K/V columns, or its scratch.
                let (kv, kvStride) = stripe == 0
                    ? (dqkv + NH * HS, W) : (accumulators! + (stripe - 1) * N * KV, KV)
                let keyColumn = NH * HS + kvh * HS, valueColumn = (NH + KVH) * HS + kvh * HS
                let keyGradientColumn = kvh * HS, valueGradientColumn = (KVH + kvh) * HS
                withUnsafeTemporaryAllocation(of: Float.self, capacity: max(T, 1)) { scratch in
                    let ds = scratch.baseAddress!
                    for h in (kvh * group)..<((kvh + 1) * group) {
                        for r in stripes[stripe] {
                            let t = Int(tables.position[r])
                            guard t >= 0 else { continue }
                            let keys = tables.rowOfPosition + Int(tables.owner[r]) * T
                            let p = att + tables.probabilityOffsets[r] + h * (t + 1)
                            let dyt = dy + r * Y + h * HS
                            var weighted: Float = 0
                            for s in 0...t {
                                let dp = VectorMath.dot(dyt, qkv + Int(keys[s]) * W + valueColumn, count: HS)
                                ds[s] = dp
                                weighted += p[s] * dp
                            }
                            let q = qkv + r * W + h * HS
                            let dq = dqkv + r * W + h * HS
                            for s in 0...t {
                                let key = Int(keys[s])
                                let d = p[s] * (ds[s] - weighted) * scale
                                VectorMath.addScaled(qkv + key * W + keyColumn, scale: d, to: dq, count: HS)
                                VectorMath.addScaled(q, scale: d, to: kv + key * kvStride + keyGradientColumn, count: HS)
                                VectorMath.addScaled(dyt, scale: p[s], to: kv + key * kvStride + valueGradientColumn, count: HS)
                            }
                        }
                    }
                }
            }
        }
        guard stripes.count > 1 else { return }
        Parallel.forEachChunk(count: N, minimumChunk: 64) { rows in
            for r in rows {
                for stripe in 1..<stripes.count {
                    VectorMath.addScaled(accumulators! + ((stripe - 1) * N + r) * KV, scale: 1, to: dqkv + r * W + NH * HS, count: KV)
                }
            }
        }
    }

    /// ``forward(queryKeyValue:packing:shape:probabilities:output:)`` on a right-padded [B·T, W]
    /// matrix: row b·T + t is position t of sequence b; padded query rows produce zeros.
    /// `probabilities` needs ``SequencePacking/probabilityCount`` floats (at most B·NH·T·T).
    public static func forward(
        queryKeyValue qkv: UnsafePointer<Float>, lengths: UnsafePointer<Int32>, shape: AttentionShape,
        probabilities att: UnsafeMutablePointer<Float>, output y: UnsafeMutablePointer<Float>
    ) {
        let packing = SequencePacking(
            paddedLengths: Array(UnsafeBufferPointer(start: lengths, count: shape.batchSize)),
            sequenceLength: shape.sequenceLength, heads: shape.queryHeads)
        y.update(repeating: 0, count: shape.batchSize * shape.sequenceLength * shape.outputWidth)
        forward(queryKeyValue: qkv, packing: packing, shape: shape, probabilities: att, output: y)
    }

    /// ``backward(outputGradient:queryKeyValue:probabilities:packing:shape:queryKeyValueGradient:)``
    /// on a right-padded matrix, after ``forward(queryKeyValue:lengths:shape:probabilities:output:)``.
    public static func backward(
        outputGradient dy: UnsafePointer<Float>, queryKeyValue qkv: UnsafePointer<Float>,
        probabilities att: UnsafePointer<Float>, lengths: UnsafePointer<Int32>, shape: AttentionShape,
        queryKeyValueGradient dqkv: UnsafeMutablePointer<Float>
    ) {
        let packing = SequencePacking(
            paddedLengths: Array(UnsafeBufferPointer(start: lengths, count: shape.batchSize)),
            sequenceLength: shape.sequenceLength, heads: shape.queryHeads)
        backward(outputGradient: dy, queryKeyValue: qkv, probabilities: att, packing: packing, shape: shape,
                 queryKeyValueGradient: dqkv)
    }
}
