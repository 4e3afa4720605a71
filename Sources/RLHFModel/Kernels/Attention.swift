import RLHFTensor

/// Causal grouped-query self-attention over a packed QKV matrix.
///
/// Shapes (B batch, T length, NH query heads, KVH key/value heads, HS head size):
/// - qkv [B·T, W] with W = (NH + 2·KVH)·HS: per row, NH query heads, then KVH key heads, then KVH
///   value heads (RoPE already applied to queries and keys);
/// - probabilities [B, NH, T, T] (saved for backward; zero above the diagonal and on padded rows);
/// - output y [B·T, NH·HS].
/// Query head h reads key/value head h / (NH / KVH). Row b only attends within its first
/// `lengths[b]` positions; padded query rows produce zeros, so padding never leaks into results.
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
    /// Computes softmax(q·kᵀ/√HS + causal mask)·v for every row and head.
    public static func forward(
        queryKeyValue qkv: UnsafePointer<Float>, lengths: UnsafePointer<Int32>, shape: AttentionShape,
        probabilities att: UnsafeMutablePointer<Float>, output y: UnsafeMutablePointer<Float>
    ) {
        let T = shape.sequenceLength, NH = shape.queryHeads, HS = shape.headDimension
        let W = shape.packedWidth, Y = shape.outputWidth
        let group = NH / shape.keyValueHeads
        let scale = 1 / Float(HS).squareRoot()
        nonisolated(unsafe) let qkv = qkv, att = att, y = y, lengths = lengths
        Parallel.forEach(count: shape.batchSize * NH) { task in
            let b = task / NH, h = task % NH, kvh = h / group
            let length = Int(lengths[b])
            let keyColumn = NH * HS + kvh * HS
            let valueColumn = (NH + shape.keyValueHeads) * HS + kvh * HS
            for t in 0..<T {
                let p = att + ((b * NH + h) * T + t) * T
                let out = y + (b * T + t) * Y + h * HS
                p.update(repeating: 0, count: T)
                out.update(repeating: 0, count: HS)
                guard t < length else { continue }
                let q = qkv + (b * T + t) * W + h * HS
                var maximum = -Float.infinity
                for s in 0...t {
                    let score = VectorMath.dot(q, qkv + (b * T + s) * W + keyColumn, count: HS) * scale
                    p[s] = score
                    maximum = max(maximum, score)
                }
                let sum = VectorMath.expShifted(p, shift: maximum, into: p, count: t + 1)
                let inverse = 1 / sum
                for s in 0...t {
                    p[s] *= inverse
                    VectorMath.addScaled(qkv + (b * T + s) * W + valueColumn, scale: p[s], to: out, count: HS)
                }
            }
        }
    }

    /// Accumulates dqkv from dy. `dqkv` must be zeroed by the caller (key/value gradients of one
    /// KV head gather contributions from all its query heads).
    ///
    /// In the forward pass y_t = Σ_s p_ts v_s with p_t = softmax(q_t·k_s·scale), so
    /// dv_s += p_ts dy_t; dp_ts = dy_t·v_s; ds_ts = p_ts (dp_ts − Σ_s' p_ts' dp_ts');
    /// dq_t += scale Σ_s ds_ts k_s; dk_s += scale ds_ts q_t.
    public static func backward(
        outputGradient dy: UnsafePointer<Float>, queryKeyValue qkv: UnsafePointer<Float>,
        probabilities att: UnsafePointer<Float>, lengths: UnsafePointer<Int32>, shape: AttentionShape,
        queryKeyValueGradient dqkv: UnsafeMutablePointer<Float>
    ) {
        let T = shape.sequenceLength, NH = shape.queryHeads, KVH = shape.keyValueHeads
        let HS = shape.headDimension, W = shape.packedWidth, Y = shape.outputWidth
        let group = NH / KVH
        let scale = 1 / Float(HS).squareRoot()
        nonisolated(unsafe) let qkv = qkv, att = att, dy = dy, dqkv = dqkv, lengths = lengths
        // One task per (row, KV head): tasks never write the same floats.
        Parallel.forEach(count: shape.batchSize * KVH) { task in
            let b = task / KVH, kvh = task % KVH
            let length = Int(lengths[b])
            let keyColumn = NH * HS + kvh * HS
            let valueColumn = (NH + KVH) * HS + kvh * HS
            withUnsafeTemporaryAllocation(of: Float.self, capacity: max(T, 1)) { scratch in
                let ds = scratch.baseAddress!
                for h in (kvh * group)..<((kvh + 1) * group) {
                    for t in 0..<length {
                        let p = att + ((b * NH + h) * T + t) * T
                        let dyt = dy + (b * T + t) * Y + h * HS
                        var weighted: Float = 0
                        for s in 0...t {
                            let dp = VectorMath.dot(dyt, qkv + (b * T + s) * W + valueColumn, count: HS)
                            ds[s] = dp
                            weighted += p[s] * dp
                        }
                        let q = qkv + (b * T + t) * W + h * HS
                        let dq = dqkv + (b * T + t) * W + h * HS
                        for s in 0...t {
                            let rowS = (b * T + s) * W
                            let d = p[s] * (ds[s] - weighted) * scale
                            VectorMath.addScaled(qkv + rowS + keyColumn, scale: d, to: dq, count: HS)
                            VectorMath.addScaled(q, scale: d, to: dqkv + rowS + keyColumn, count: HS)
                            VectorMath.addScaled(dyt, scale: p[s], to: dqkv + rowS + valueColumn, count: HS)
                        }
                    }
                }
            }
        }
    }
}
