import CRLHFKernels
import Foundation
import RLHFModel
import RLHFTensor
import Testing
import _RLHFTestSupport

/// Decode attention (``DecodeAttention``): the AVX2 kernel and its Swift twin against a
/// Double-precision softmax(q·Kᵀ·scale)·V, and the whole cached step against the training path's
/// ``Attention`` on the same queries, keys and values. The Swift twin is what runs with
/// `RLHF_SIMD_KERNELS=off` or without AVX2/FMA.
@Suite("Decode attention kernel")
struct DecodeAttentionKernelTests {
    /// The implementations this machine runs: the Swift code always, the C kernel where the CPU has it.
    static let implementations: [Bool] = CPUFeatures.avx2FMA ? [false, true] : [false]

    /// Head sizes that hit the kernel's 64-wide and narrower value passes and position counts on
    /// both sides of its 8-position score blocks; one head size (12) only the Swift code takes.
    @Test(arguments: [(1, 8, 1), (3, 64, 7), (3, 64, 8), (3, 64, 9), (2, 64, 48), (1, 72, 17), (4, 128, 33), (3, 16, 100), (2, 12, 5)])
    func matchesSoftmaxAttention(_ shape: (Int, Int, Int)) {
        let (groups, headSize, count) = shape
        let qStride = headSize + 3, outStride = headSize + 5
        let q = randomFloats(groups * qStride, seed: 11, scale: 2)
        let keys = randomFloats(count * headSize, seed: 12, scale: 2)
        let values = randomFloats(count * headSize, seed: 13)
        let scale = 1 / Float(headSize).squareRoot()
        var expected = [Double](repeating: 0, count: groups * headSize)
        for g in 0..<groups {
            let logits = (0..<count).map { s in
                (0..<headSize).reduce(0.0) { $0 + Double(q[g * qStride + $1]) * Double(keys[s * headSize + $1]) } * Double(scale)
            }
            let maximum = logits.max()!
            let exps = logits.map { Foundation.exp($0 - maximum) }
            let total = exps.reduce(0, +)
            for d in 0..<headSize {
                expected[g * headSize + d] = (0..<count).reduce(0.0) { $0 + exps[$1] / total * Double(values[$1 * headSize + d]) }
            }
        }
        for simd in Self.implementations where !simd || headSize % 8 == 0 {
            var scores = [Float](repeating: .nan, count: groups * count)
            var out = [Float](repeating: .nan, count: groups * outStride)
            if simd {
                rlhf_attention_decode(Int32(groups), Int32(headSize), Int32(count), scale, q, Int32(qStride), keys, values, &scores,
                                      &out, Int32(outStride))
            } else {
                DecodeAttention.group(groups, headDimension: headSize, count: count, scale: scale, queries: q, queryStride: qStride,
                                      keys: keys, values: values, scores: &scores, output: &out, outputStride: outStride)
            }
            var worst = 0.0
            for g in 0..<groups {
                for d in 0..<headSize { worst = max(worst, abs(Double(out[g * outStride + d]) - expected[g * headSize + d])) }
            }
            #expect(worst < 1e-5, "simd \(simd): largest difference \(worst)")
        }
    }

    /// Rows of different lengths; row b has its first `split[b]` positions cached already and gets
    /// the rest as new tokens (so some rows get none and padded slots appear). The cached step must
    /// give the causal attention of those positions, as the training path computes it.
    @Test(arguments: [(8, 4, 2), (16, 6, 3), (12, 2, 2)])
    func cachedStepMatchesCausalAttention(_ heads: (Int, Int, Int)) {
        let (HS, NH, KVH) = heads
        let lengths: [Int32] = [5, 9, 1, 7], split = [0, 6, 1, 3]
        let B = lengths.count, T = Int(lengths.max()!), capacity = T + 3
        let shape = AttentionShape(batchSize: B, sequenceLength: T, queryHeads: NH, keyValueHeads: KVH, headDimension: HS)
        let W = shape.packedWidth, Y = shape.outputWidth
        let qkv = randomFloats(B * T * W, seed: 21, scale: 1.5)
        var probabilities = [Float](repeating: 0, count: B * NH * T * T)
        var reference = [Float](repeating: 0, count: B * T * Y)
        Attention.forward(queryKeyValue: qkv, lengths: lengths, shape: shape, probabilities: &probabilities, output: &reference)

        // The cache [B, KVH, capacity, HS] holds every real position's keys and values (as after
        // storing the new tokens'); the new rows are positions split[b]..<lengths[b].
        var keys = [Float](repeating: .nan, count: B * KVH * capacity * HS), values = keys
        for b in 0..<B {
            for t in 0..<Int(lengths[b]) {
                for h in 0..<KVH {
                    for d in 0..<HS {
                        let cached = ((b * KVH + h) * capacity + t) * HS + d
                        keys[cached] = qkv[(b * T + t) * W + (NH + h) * HS + d]
                        values[cached] = qkv[(b * T + t) * W + (NH + KVH + h) * HS + d]
                    }
                }
            }
        }
        let newCounts = (0..<B).map { Int(lengths[$0]) - split[$0] }
        let Tn = newCounts.max()!
        var newRows = [Float](repeating: .nan, count: B * Tn * W)
        for b in 0..<B {
            for t in 0..<newCounts[b] {
                for i in 0..<W { newRows[(b * Tn + t) * W + i] = qkv[(b * T + split[b] + t) * W + i] }
            }
        }
        let decodeShape = AttentionShape(batchSize: B, sequenceLength: Tn, queryHeads: NH, keyValueHeads: KVH, headDimension: HS)
        for simd in Self.implementations {
            var out = [Float](repeating: .nan, count: B * Tn * Y)
            DecodeAttention.forward(queryKeyValue: newRows, keys: keys, values: values, capacity: capacity, starts: split,
                                    newCounts: newCounts, shape: decodeShape, output: &out, simd: simd)
            for b in 0..<B {
                for t in 0..<Tn {
                    let actual = Array(out[((b * Tn + t) * Y)..<((b * Tn + t + 1) * Y)])
                    if t < newCounts[b] {
                        let row = (b * T + split[b] + t) * Y
                        let difference = maximumAbsoluteDifference(actual, Array(reference[row..<(row + Y)]))
                        #expect(difference < 1e-5, "simd \(simd) row \(b) new token \(t): \(difference)")
                    } else {
                        #expect(actual.allSatisfy { $0 == 0 }, "simd \(simd) row \(b) padded slot \(t)")
                    }
                }
            }
        }
    }
}
