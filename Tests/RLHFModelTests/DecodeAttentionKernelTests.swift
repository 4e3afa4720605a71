import CRLHFKernels
import Foundation
import RLHFTensor
import Testing
import _RLHFTestSupport

/// The AVX2 decode-attention kernel against a Double-precision softmax(q·Kᵀ·scale)·V, on head sizes
/// that hit its 64-wide and narrower value passes and position counts on both sides of its
/// 8-position score blocks. (The model-level generation tests check it in context, at head size 8.)
@Suite("Decode attention kernel")
struct DecodeAttentionKernelTests {
    @Test(.enabled(if: SmallBatchGEMM.isAvailable),
          arguments: [(1, 8, 1), (3, 64, 7), (3, 64, 8), (3, 64, 9), (2, 64, 48), (1, 72, 17), (4, 128, 33), (3, 16, 100)])
    func matchesSoftmaxAttention(_ shape: (Int, Int, Int)) {
        let (groups, headSize, count) = shape
        let qStride = headSize + 3, outStride = headSize + 5
        let q = randomFloats(groups * qStride, seed: 11, scale: 2)
        let keys = randomFloats(count * headSize, seed: 12, scale: 2)
        let values = randomFloats(count * headSize, seed: 13)
        let scale = 1 / Float(headSize).squareRoot()
        var scores = [Float](repeating: .nan, count: groups * count)
        var out = [Float](repeating: .nan, count: groups * outStride)
        rlhf_attention_decode(Int32(groups), Int32(headSize), Int32(count), scale, q, Int32(qStride), keys, values, &scores, &out,
                              Int32(outStride))
        var worst = 0.0
        for g in 0..<groups {
            let logits = (0..<count).map { s in
                (0..<headSize).reduce(0.0) { $0 + Double(q[g * qStride + $1]) * Double(keys[s * headSize + $1]) } * Double(scale)
            }
            let maximum = logits.max()!
            let exps = logits.map { Foundation.exp($0 - maximum) }
            let total = exps.reduce(0, +)
            for d in 0..<headSize {
                let expected = (0..<count).reduce(0.0) { $0 + exps[$1] / total * Double(values[$1 * headSize + d]) }
                worst = max(worst, abs(Double(out[g * outStride + d]) - expected))
            }
        }
        #expect(worst < 1e-5, "largest difference \(worst)")
    }
}
