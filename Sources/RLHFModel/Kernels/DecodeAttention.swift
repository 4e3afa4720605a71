import CRLHFKernels
import RLHFTensor

/// Attention of newly appended tokens over a key/value cache: the attention step of incremental
/// decoding and prefill (``LlamaModel/extend(_:with:)``), beside ``Attention`` (the full causal
/// attention of training, which also saves its probabilities for backward). Forward only.
///
/// Shapes (B rows, Tn new-token slots per row, NH query heads, KVH key/value heads, HS head size):
/// - qkv [B·Tn, W] packed as in ``Attention`` (RoPE already applied); row b·Tn + t holds new token t
///   of row b, at position `starts[b] + t`;
/// - keys, values [B, KVH, capacity, HS]: one block of a ``KeyValueCache``, already holding the new
///   tokens' keys and values;
/// - output [B·Tn, NH·HS]; slots t ≥ `newCounts[b]` (padding) get zeros.
/// New token t of row b attends to positions 0…`starts[b] + t` of its row.
public enum DecodeAttention {
    /// Fills `output` for every new token. `shape.sequenceLength` is Tn.
    ///
    /// One parallel task per (row, KV head), so each cached key and value row is loaded once for
    /// the query heads that share it. The AVX2/FMA kernel (`rlhf_attention_decode`) runs where
    /// ``CPUFeatures/avx2FMA`` holds and HS is a multiple of 8, else ``group(...)``'s Swift code;
    /// `simd: false` forces the Swift code.
    public static func forward(
        queryKeyValue qkv: UnsafePointer<Float>, keys: UnsafePointer<Float>, values: UnsafePointer<Float>, capacity: Int,
        starts: [Int], newCounts: [Int], shape: AttentionShape, output: UnsafeMutablePointer<Float>, simd: Bool = true
    ) {
        let Tn = shape.sequenceLength, NH = shape.queryHeads, KVH = shape.keyValueHeads, HS = shape.headDimension
        let W = shape.packedWidth, Y = shape.outputWidth, group = NH / KVH
        precondition(starts.count == shape.batchSize && newCounts.count == shape.batchSize, "one start and count per row")
        let scale = 1 / Float(HS).squareRoot()
        let useKernel = simd && CPUFeatures.avx2FMA && HS % 8 == 0
        nonisolated(unsafe) let qkv = qkv, keys = keys, values = values, output = output
        Parallel.forEach(count: shape.batchSize * KVH) { task in
            let b = task / KVH, kvh = task % KVH
            let base = (b * KVH + kvh) * capacity * HS
            withUnsafeTemporaryAllocation(of: Float.self, capacity: max(1, capacity * group)) { scratch in
                for t in 0..<Tn {
                    let out = output + (b * Tn + t) * Y + kvh * group * HS
                    guard t < newCounts[b] else {
                        out.update(repeating: 0, count: group * HS)
                        continue
                    }
                    let q = qkv + (b * Tn + t) * W + kvh * group * HS
                    let count = starts[b] + t + 1
                    precondition(count <= capacity, "position beyond the cache")
                    if useKernel {
                        rlhf_attention_decode(
                            Int32(group), Int32(HS), Int32(count), scale, q, Int32(HS), keys + base, values + base,
                            scratch.baseAddress!, out, Int32(HS))
                    } else {
                        Self.group(
                            group, headDimension: HS, count: count, scale: scale, queries: q, queryStride: HS, keys: keys + base,
                            values: values + base, scores: scratch.baseAddress!, output: out, outputStride: HS)
                    }
                }
            }
        }
    }

    /// The Swift twin of `rlhf_attention_decode`: out[g] = softmax(scale · q[g]·keysᵀ)·values for
    /// `G` query heads sharing one key/value head, over `count` positions. q rows are `queryStride`
    /// apart, keys and values [count, HS] contiguous, out rows `outputStride` apart (overwritten);
    /// `scores` is scratch of G·count floats.
    public static func group(
        _ G: Int, headDimension HS: Int, count: Int, scale: Float, queries q: UnsafePointer<Float>, queryStride: Int,
        keys: UnsafePointer<Float>, values: UnsafePointer<Float>, scores: UnsafeMutablePointer<Float>,
        output out: UnsafeMutablePointer<Float>, outputStride: Int
    ) {
        for g in 0..<G {
            let qg = q + g * queryStride, sg = scores + g * count
            var maximum = -Float.infinity
            for s in 0..<count {
                let score = VectorMath.dot(qg, keys + s * HS, count: HS) * scale
                sg[s] = score
                maximum = max(maximum, score)
            }
            let inverse = 1 / VectorMath.expShifted(sg, shift: maximum, into: sg, count: count)
            for s in 0..<count { sg[s] *= inverse }
            (out + g * outputStride).update(repeating: 0, count: HS)
        }
        for s in 0..<count {
            let value = values + s * HS
            for g in 0..<G {
                VectorMath.addScaled(value, scale: scores[g * count + s], to: out + g * outputStride, count: HS)
            }
        }
    }
}
