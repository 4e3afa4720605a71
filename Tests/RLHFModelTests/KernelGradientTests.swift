import Foundation
import RLHFModel
import RLHFTensor
import Testing
import _RLHFTestSupport

/// Each kernel's backward against central finite differences of L = Σ r ⊙ forward(x).
@Suite("Kernel backward passes vs finite differences")
struct KernelGradientTests {
    /// Checks the analytic directional derivative of `loss` against finite differences along three
    /// random unit directions in `buffer`.
    func checkDirectional(
        _ buffer: UnsafeMutablePointer<Float>, count: Int, gradient: [Float], seed: UInt64,
        tolerance: Double = 1e-2, loss: () -> Double, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        for trial in 0..<3 {
            var direction = randomFloats(count, seed: seed &+ UInt64(trial))
            let norm = direction.reduce(0) { $0 + $1 * $1 }.squareRoot()
            direction = direction.map { $0 / norm }
            let numeric = FiniteDifference.directionalDerivative(at: buffer, direction: direction, step: 1e-2, of: loss)
            let analytic = gradient.withUnsafeBufferPointer { FiniteDifference.dot($0.baseAddress!, direction) }
            #expect(abs(numeric - analytic) <= tolerance * max(1, abs(analytic)),
                    "numeric \(numeric) vs analytic \(analytic)", sourceLocation: sourceLocation)
        }
    }

    @Test func rmsNorm() {
        let N = 3, C = 8
        let x = FloatBuffer(randomFloats(N * C, seed: 1)), w = FloatBuffer(randomFloats(C, seed: 2, scale: 0.5))
        let r = randomFloats(N * C, seed: 3)
        let y = FloatBuffer(count: N * C), rstd = FloatBuffer(count: N)
        func loss() -> Double {
            RMSNorm.forward(input: x.pointer, weight: w.pointer, output: y.pointer, reciprocalRMS: rstd.pointer,
                            rows: N, width: C, epsilon: 1e-5)
            return zip(y.array, r).reduce(0.0) { $0 + Double($1.0 * $1.1) }
        }
        _ = loss()
        let dx = FloatBuffer(count: N * C), dw = FloatBuffer(count: C)
        r.withUnsafeBufferPointer {
            RMSNorm.backward(outputGradient: $0.baseAddress!, input: x.pointer, weight: w.pointer, reciprocalRMS: rstd.pointer,
                             inputGradient: dx.pointer, weightGradient: dw.pointer, rows: N, width: C)
        }
        checkDirectional(x.pointer, count: N * C, gradient: dx.array, seed: 10, loss: loss)
        checkDirectional(w.pointer, count: C, gradient: dw.array, seed: 20, loss: loss)
    }

    /// The forward itself (vector kernel and scalar tail) against silu(g)·u in Double, over a wide
    /// range of gate values: the AVX2 kernel where the CPU has it, and always the Swift code (what
    /// runs with `RLHF_SIMD_KERNELS=off`).
    @Test(arguments: [1, 8, 13, 40])
    func swiGLUForwardMatchesDefinition(width F: Int) {
        let N = 3
        let gu = FloatBuffer(randomFloats(N * 2 * F, seed: 41, scale: 12))
        for simd in CPUFeatures.avx2FMA ? [false, true] : [false] {
            let a = FloatBuffer(count: N * F)
            SwiGLU.forward(gateUp: gu.pointer, output: a.pointer, rows: N, width: F, simd: simd)
            let values = gu.array, out = a.array
            for n in 0..<N {
                for i in 0..<F {
                    let g = Double(values[n * 2 * F + i]), u = Double(values[n * 2 * F + F + i])
                    let expected = g / (1 + Foundation.exp(-g)) * u
                    #expect(abs(Double(out[n * F + i]) - expected) <= 2e-6 * max(1, abs(expected)),
                            "simd \(simd) row \(n) column \(i)")
                }
            }
        }
    }

    @Test func swiGLU() {
        let N = 4, F = 11
        let gu = FloatBuffer(randomFloats(N * 2 * F, seed: 4)), a = FloatBuffer(count: N * F)
        let r = randomFloats(N * F, seed: 5)
        func loss() -> Double {
            SwiGLU.forward(gateUp: gu.pointer, output: a.pointer, rows: N, width: F)
            return zip(a.array, r).reduce(0.0) { $0 + Double($1.0 * $1.1) }
        }
        _ = loss()
        let dgu = FloatBuffer(count: N * 2 * F)
        r.withUnsafeBufferPointer {
            SwiGLU.backward(outputGradient: $0.baseAddress!, gateUp: gu.pointer, gateUpGradient: dgu.pointer, rows: N, width: F)
        }
        checkDirectional(gu.pointer, count: N * 2 * F, gradient: dgu.array, seed: 30, loss: loss)
    }

    @Test func attentionWithPaddingAndGroupedHeads() {
        let shape = AttentionShape(batchSize: 2, sequenceLength: 5, queryHeads: 4, keyValueHeads: 2, headDimension: 4)
        let N = 10, W = shape.packedWidth, Y = shape.outputWidth
        let lengths: [Int32] = [5, 3]
        let qkv = FloatBuffer(randomFloats(N * W, seed: 6))
        let att = FloatBuffer(count: 2 * 4 * 5 * 5), y = FloatBuffer(count: N * Y)
        let r = randomFloats(N * Y, seed: 7)
        func loss() -> Double {
            lengths.withUnsafeBufferPointer {
                Attention.forward(queryKeyValue: qkv.pointer, lengths: $0.baseAddress!, shape: shape, probabilities: att.pointer, output: y.pointer)
            }
            return zip(y.array, r).reduce(0.0) { $0 + Double($1.0 * $1.1) }
        }
        _ = loss()
        // Padded query rows (row 1, positions 3 and 4) produce zeros.
        #expect(y.array[(5 + 3) * Y..<(10 * Y)].allSatisfy { $0 == 0 })
        let dqkv = FloatBuffer(count: N * W)
        r.withUnsafeBufferPointer { dy in
            lengths.withUnsafeBufferPointer {
                Attention.backward(outputGradient: dy.baseAddress!, queryKeyValue: qkv.pointer, probabilities: att.pointer,
                                   lengths: $0.baseAddress!, shape: shape, queryKeyValueGradient: dqkv.pointer)
            }
        }
        checkDirectional(qkv.pointer, count: N * W, gradient: dqkv.array, seed: 40, loss: loss)
        // Padded keys/values (row 1, positions 3, 4) receive no gradient.
        #expect(dqkv.array[(5 + 3) * W..<(10 * W)].allSatisfy { $0 == 0 })
    }

    @Test func rotaryInverseIsTranspose() {
        let rope = RotaryEmbedding(rotaryDimensionCount: 6, theta: 10_000, maximumPosition: 16)
        let rows = 2 * 7, width = 3 * 8
        let x = FloatBuffer(randomFloats(rows * width, seed: 8)), z = FloatBuffer(randomFloats(rows * width, seed: 9))
        let xOriginal = x.array, zOriginal = z.array
        rope.apply(x.pointer, rows: rows, sequenceLength: 7, width: width, column: 0, heads: 3, headDimension: 8)
        rope.apply(z.pointer, rows: rows, sequenceLength: 7, width: width, column: 0, heads: 3, headDimension: 8, inverse: true)
        // ⟨R x, z⟩ = ⟨x, Rᵀ z⟩.
        let left = zip(x.array, zOriginal).reduce(0.0) { $0 + Double($1.0 * $1.1) }
        let right = zip(xOriginal, z.array).reduce(0.0) { $0 + Double($1.0 * $1.1) }
        #expect(abs(left - right) < 1e-4)
        // Position 0 is the identity; dimensions past the rotary count are untouched.
        #expect(Array(x.array[0..<8]) == Array(xOriginal[0..<8]))
        #expect(x.array[8 + 6] == xOriginal[8 + 6] && x.array[8 + 7] == xOriginal[8 + 7])
    }

    @Test func embeddingAccumulatesRepeatedTokens() {
        let table = FloatBuffer(randomFloats(5 * 3, seed: 11))
        let tokens: [Int32] = [2, 4, 2]
        let out = FloatBuffer(count: 9), dTable = FloatBuffer(count: 15)
        let dOut = randomFloats(9, seed: 12)
        tokens.withUnsafeBufferPointer { t in
            Embedding.forward(tokens: t.baseAddress!, table: table.pointer, output: out.pointer, rows: 3, width: 3)
            dOut.withUnsafeBufferPointer {
                Embedding.backward(tokens: t.baseAddress!, outputGradient: $0.baseAddress!, tableGradient: dTable.pointer, rows: 3, width: 3)
            }
        }
        #expect(Array(out.array[0..<3]) == Array(table.array[6..<9]))
        #expect(dTable[6] == dOut[0] + dOut[6])
        #expect(dTable[0] == 0)
    }
}
