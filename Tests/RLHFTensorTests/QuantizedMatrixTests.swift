import Foundation
import RLHFTensor
import Testing

/// The Q8_0 sampling kernel: llama.cpp's quantization rule, and the product against a naive oracle
/// in Double for every variant this CPU runs (AVX2 always where available, AVX-512 where present).
@Suite("Quantized (Q8_0) matrices")
struct QuantizedMatrixTests {
    static func randomMatrix(rows: Int, columns: Int, seed: UInt64) -> [Float] {
        var generator = SeededGenerator(seed: seed)
        var values = [Float](repeating: 0, count: rows * columns)
        values.withUnsafeMutableBufferPointer { generator.fillGaussian($0.baseAddress!, count: $0.count, standardDeviation: 1) }
        return values
    }

    @Test("scale = max|w| / 127 per block of 32, values rounded half away from zero; zero blocks stay zero",
          .enabled(if: QuantizedMatrix.isAvailable))
    func quantizationRule() {
        let columns = 64
        var weights = Self.randomMatrix(rows: 3, columns: columns, seed: 1)
        for k in 32..<64 { weights[columns + k] = 0 }  // row 1, block 1: all zero
        for k in 0..<32 { weights[2 * columns + k] = 0 }
        weights[2 * columns + 5] = 127  // a block whose scale is exactly 1 …
        weights[2 * columns + 6] = 2.5  // … and values at exactly 2.5 steps: they round away from zero
        weights[2 * columns + 7] = -2.5
        let matrix = weights.withUnsafeBufferPointer { QuantizedMatrix(quantizing: $0.baseAddress!, rows: 3, columns: columns) }
        for row in 0..<3 {
            for block in 0..<2 {
                let slice = (0..<32).map { weights[row * columns + block * 32 + $0] }
                let scale = (slice.map(abs).max() ?? 0) / 127, inverse = scale == 0 ? 0 : 1 / scale  // llama.cpp's id
                for i in 0..<32 {
                    let expected = Float((slice[i] * inverse).rounded(.toNearestOrAwayFromZero)) * scale
                    #expect(matrix.weight(row: row, column: block * 32 + i) == expected, "row \(row) column \(block * 32 + i)")
                }
            }
        }
        #expect(matrix.weight(row: 2, column: 6) == 3 && matrix.weight(row: 2, column: 7) == -3)
        #expect((32..<64).allSatisfy { matrix.weight(row: 1, column: $0) == 0 })
        #expect(matrix.byteCount == 3 * 64 + 3 * 2 * 4)
    }

    @Test("weights that came from Q8_0 quantize back to themselves", .enabled(if: QuantizedMatrix.isAvailable))
    func requantizingIsExact() {
        let weights = Self.randomMatrix(rows: 5, columns: 96, seed: 2)
        let first = weights.withUnsafeBufferPointer { QuantizedMatrix(quantizing: $0.baseAddress!, rows: 5, columns: 96) }
        let dequantized = (0..<5).flatMap { r in (0..<96).map { first.weight(row: r, column: $0) } }
        let second = dequantized.withUnsafeBufferPointer { QuantizedMatrix(quantizing: $0.baseAddress!, rows: 5, columns: 96) }
        for r in 0..<5 { for k in 0..<96 { #expect(second.weight(row: r, column: k) == first.weight(row: r, column: k)) } }
    }

    static var variants: [Bool] { CPUFeatures.avx512 ? [false, true] : [false] }

    @Test("product vs the naive oracle over the dequantized weights, every variant and row count",
          .enabled(if: QuantizedMatrix.isAvailable),
          arguments: [(1, 4, 32), (1, 301, 576), (2, 67, 64), (3, 13, 96), (4, 300, 576), (5, 41, 64), (7, 9, 32), (8, 130, 1536),
                      (9, 255, 64), (16, 515, 576), (33, 70, 128), (64, 97, 64)])
    func productMatchesOracle(_ shape: (Int, Int, Int)) {
        let (m, n, k) = shape
        let weights = Self.randomMatrix(rows: n, columns: k, seed: UInt64(m * 1000 + n))
        let lda = k + 3, ldc = n + 2
        let a = Self.randomMatrix(rows: m, columns: lda, seed: 7)
        let matrix = weights.withUnsafeBufferPointer { QuantizedMatrix(quantizing: $0.baseAddress!, rows: n, columns: k) }
        let initial = Self.randomMatrix(rows: m, columns: ldc, seed: 8)
        for avx512 in Self.variants {
            for accumulate in [false, true] {
                var c = initial
                a.withUnsafeBufferPointer { a in
                    c.withUnsafeMutableBufferPointer { c in
                        matrix.multiply(a.baseAddress!, rows: m, lda: lda, into: c.baseAddress!, ldc: ldc, accumulate: accumulate, avx512: avx512)
                    }
                }
                var worst = 0.0
                for i in 0..<m {
                    for j in 0..<n {
                        var sum = accumulate ? Double(initial[i * ldc + j]) : 0, magnitude = 0.0
                        for r in 0..<k {
                            let product = Double(a[i * lda + r]) * Double(matrix.weight(row: j, column: r))
                            sum += product
                            magnitude += abs(product)
                        }
                        worst = max(worst, abs(Double(c[i * ldc + j]) - sum) / max(1, magnitude))
                    }
                    // Columns past n are left alone.
                    for j in n..<ldc { #expect(c[i * ldc + j] == initial[i * ldc + j]) }
                }
                #expect(worst < 1e-5, "M \(m) N \(n) K \(k) avx512 \(avx512) accumulate \(accumulate): \(worst)")
            }
        }
    }

    @Test("only columns that are a multiple of 32 are supported")
    func supportedShapes() {
        #expect(QuantizedMatrix.supports(columns: 32) && QuantizedMatrix.supports(columns: 576))
        #expect(!QuantizedMatrix.supports(columns: 24) && !QuantizedMatrix.supports(columns: 0) && !QuantizedMatrix.supports(columns: 33))
    }
}
