import RLHFTensor
import Testing
import _RLHFTestSupport

/// Both GEMM paths against the naive Double-accumulating oracle, on odd shapes, every transpose
/// combination, padded leading dimensions, alpha and beta. The portable path always runs, so it is
/// exercised even where OpenBLAS is installed.
@Suite("GEMM backends")
struct MatrixMultiplierTests {
    struct Case: CustomTestStringConvertible, Sendable {
        let m: Int, n: Int, k: Int, transposeA: Bool, transposeB: Bool, alpha: Float, beta: Float, padding: Int
        var testDescription: String { "\(m)×\(n)×\(k) tA=\(transposeA) tB=\(transposeB) α=\(alpha) β=\(beta) pad=\(padding)" }
    }

    static let cases: [Case] = {
        var cases = [Case]()
        let shapes = [(1, 1, 1), (7, 13, 5), (33, 17, 65), (4, 16, 256), (70, 300, 260), (5, 1030, 3), (129, 2, 300)]
        for (index, (m, n, k)) in shapes.enumerated() {
            for transposeA in [false, true] {
                for transposeB in [false, true] {
                    let beta: Float = [0, 1, 0.5][(index + (transposeA ? 1 : 0)) % 3]
                    cases.append(Case(m: m, n: n, k: k, transposeA: transposeA, transposeB: transposeB,
                                      alpha: index % 2 == 0 ? 1 : -0.75, beta: beta, padding: index % 3))
                }
            }
        }
        return cases
    }()

    /// Runs `multiplier` and the oracle on the same random inputs; returns the relative error.
    static func compare(_ multiplier: any MatrixMultiplier, _ c: Case, nanInC: Bool = false) -> Double {
        let lda = (c.transposeA ? c.m : c.k) + c.padding
        let ldb = (c.transposeB ? c.k : c.n) + c.padding
        let ldc = c.n + c.padding
        let a = randomFloats((c.transposeA ? c.k : c.m) * lda, seed: 1)
        let b = randomFloats((c.transposeB ? c.n : c.k) * ldb, seed: 2)
        let start = nanInC ? [Float](repeating: .nan, count: c.m * ldc) : randomFloats(c.m * ldc, seed: 3)
        var expected = start, actual = start
        a.withUnsafeBufferPointer { a in
            b.withUnsafeBufferPointer { b in
                expected.withUnsafeMutableBufferPointer { out in
                    PortableMatrixMultiplier.reference(
                        transposeA: c.transposeA, transposeB: c.transposeB, m: c.m, n: c.n, k: c.k, alpha: c.alpha,
                        a: a.baseAddress!, lda: lda, b: b.baseAddress!, ldb: ldb, beta: c.beta, c: out.baseAddress!, ldc: ldc)
                }
                actual.withUnsafeMutableBufferPointer { out in
                    multiplier.gemm(
                        transposeA: c.transposeA, transposeB: c.transposeB, m: c.m, n: c.n, k: c.k, alpha: c.alpha,
                        a: a.baseAddress!, lda: lda, b: b.baseAddress!, ldb: ldb, beta: c.beta, c: out.baseAddress!, ldc: ldc)
                }
            }
        }
        // Padding columns of C must be untouched.
        for i in 0..<c.m {
            for j in c.n..<ldc where !(actual[i * ldc + j] == start[i * ldc + j] || (nanInC && actual[i * ldc + j].isNaN)) {
                return .infinity
            }
        }
        let rows = (0..<c.m).flatMap { i in (0..<c.n).map { i * ldc + $0 } }
        return relativeError(rows.map { actual[$0] }, rows.map { expected[$0] })
    }

    @Test("portable kernel vs the naive oracle", arguments: cases)
    func portable(_ c: Case) {
        let error = Self.compare(PortableMatrixMultiplier(), c)
        #expect(error < 1e-5 * Double(c.k).squareRoot(), "relative error \(error)")
    }

    @Test("system BLAS vs the naive oracle", .enabled(if: BLASMatrixMultiplier.shared != nil), arguments: cases)
    func blas(_ c: Case) throws {
        let blas = try #require(BLASMatrixMultiplier.shared)
        let error = Self.compare(blas, c)
        #expect(error < 1e-5 * Double(c.k).squareRoot(), "relative error \(error) (\(blas.libraryPath))")
    }

    @Test("beta = 0 overwrites C without reading it (NaN in C does not propagate)")
    func betaZeroIgnoresNaN() throws {
        var backends: [any MatrixMultiplier] = [PortableMatrixMultiplier()]
        if let blas = BLASMatrixMultiplier.shared { backends.append(blas) }
        for backend in backends {
            let c = Case(m: 9, n: 21, k: 7, transposeA: false, transposeB: true, alpha: 1, beta: 0, padding: 0)
            #expect(Self.compare(backend, c, nanInC: true) < 1e-5, "\(backend.name)")
        }
    }

    @Test("k = 0 scales C by beta")
    func emptyInnerDimension() {
        var backends: [any MatrixMultiplier] = [PortableMatrixMultiplier()]
        if let blas = BLASMatrixMultiplier.shared { backends.append(blas) }
        for backend in backends {
            var c: [Float] = [1, 2, 3, 4]
            let a: [Float] = [0], b: [Float] = [0]
            backend.gemm(transposeA: false, transposeB: false, m: 2, n: 2, k: 0, alpha: 1, a: a, lda: 1, b: b, ldb: 2,
                         beta: 0.5, c: &c, ldc: 2)
            #expect(c == [0.5, 1, 1.5, 2], "\(backend.name)")
        }
    }

    /// The AVX2 small-batch kernel (used by the BLAS backend for decoding-sized x·Wᵀ products).
    struct SmallBatch: MatrixMultiplier {
        var name: String { "small-batch" }
        func gemm(
            transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Float, a: UnsafePointer<Float>, lda: Int,
            b: UnsafePointer<Float>, ldb: Int, beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
        ) {
            SmallBatchGEMM.multiply(m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
        }
    }

    @Test("small-batch kernel vs the naive oracle", .enabled(if: SmallBatchGEMM.isAvailable),
          arguments: [(1, 64, 8), (2, 67, 9), (3, 300, 576), (4, 129, 33), (5, 1001, 70), (6, 70, 17), (8, 203, 64), (10, 97, 24),
                     (11, 130, 41), (12, 77, 8), (16, 515, 131), (32, 260, 576), (64, 96, 40)])
    func smallBatch(_ shape: (Int, Int, Int)) {
        let (m, n, k) = shape
        for (alpha, beta, padding) in [(Float(1), Float(0), 0), (-0.5, 1, 3), (2, 0.25, 1)] {
            let c = Case(m: m, n: n, k: k, transposeA: false, transposeB: true, alpha: alpha, beta: beta, padding: padding)
            let error = Self.compare(SmallBatch(), c)
            #expect(error < 1e-5 * Double(k).squareRoot(), "\(c.testDescription): relative error \(error)")
        }
        #expect(SmallBatchGEMM.applies(transposeA: false, transposeB: true, m: m, n: n, k: k))
        #expect(!SmallBatchGEMM.applies(transposeA: false, transposeB: false, m: m, n: n, k: k))
    }

    @Test func bestBackendIsReported() {
        #expect(["openblas", "blas", "accelerate", "portable"].contains(MatrixMultiply.best.name))
    }
}
