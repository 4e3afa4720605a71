import RLHFTensor
import Testing
import _RLHFTestSupport

/// Both GEMM paths against the naive Double-accumulating oracle, on odd shapes, every transpose
/// combination, padded leading dimensions, alpha and beta. The portable path always runs, so it is
/// exercised even where OpenBLAS is installed; the BLAS tests run only where a library loads
/// (`BLASMatrixMultiplier.shared` names it, e.g. "openblas" from `libopenblas.so.0`).
///
/// The shapes reach both portable strategies: the unpacked few-rows path (m ≤ 4, or m ≤ 32 with
/// m·k ≤ 65536) and the packed path with every block boundary crossed (mc = 48, nc = 512, kc = 256,
/// 6×8 tiles), split over the cores by rows and by columns.
@Suite("GEMM backends")
struct MatrixMultiplierTests {
    struct Case: CustomTestStringConvertible, Sendable {
        let m: Int, n: Int, k: Int, transposeA: Bool, transposeB: Bool, alpha: Float, beta: Float, padding: Int
        var testDescription: String { "\(m)×\(n)×\(k) tA=\(transposeA) tB=\(transposeB) α=\(alpha) β=\(beta) pad=\(padding)" }
    }

    /// Every transpose combination of each shape, with alpha, beta ∈ {0, 1, 0.5} and padding varied.
    static let cases: [Case] = {
        var cases = [Case]()
        let shapes = [
            (1, 1, 1), (7, 13, 5), (33, 17, 65), (4, 16, 256), (70, 300, 260), (5, 1030, 3), (129, 2, 300),
            (1, 37, 19), (2, 67, 9), (3, 50, 131), (16, 33, 77), (32, 40, 100), (50, 520, 260), (17, 24, 3900),
        ]
        for (index, (m, n, k)) in shapes.enumerated() {
            for transposeA in [false, true] {
                for transposeB in [false, true] {
                    let beta: Float = [0, 1, 0.5][(index + (transposeA ? 1 : 0) + (transposeB ? 1 : 0)) % 3]
                    cases.append(Case(m: m, n: n, k: k, transposeA: transposeA, transposeB: transposeB,
                                      alpha: index % 2 == 0 ? 1 : -0.75, beta: beta, padding: index % 3))
                }
            }
        }
        return cases
    }()

    /// Random operands for `c` with padded leading dimensions: (a, lda, b, ldb, C's start, ldc).
    static func operands(_ c: Case, nanInC: Bool) -> (a: [Float], lda: Int, b: [Float], ldb: Int, c: [Float], ldc: Int) {
        let lda = (c.transposeA ? c.m : c.k) + c.padding
        let ldb = (c.transposeB ? c.k : c.n) + c.padding
        let ldc = c.n + c.padding
        let a = randomFloats((c.transposeA ? c.k : c.m) * lda, seed: 1)
        let b = randomFloats((c.transposeB ? c.n : c.k) * ldb, seed: 2)
        let start = nanInC ? [Float](repeating: .nan, count: c.m * ldc) : randomFloats(c.m * ldc, seed: 3)
        return (a, lda, b, ldb, start, ldc)
    }

    /// C after `multiplier` runs on `c`'s operands.
    static func run(_ multiplier: any MatrixMultiplier, _ c: Case, nanInC: Bool = false) -> [Float] {
        let (a, lda, b, ldb, start, ldc) = operands(c, nanInC: nanInC)
        var out = start
        multiplier.gemm(
            transposeA: c.transposeA, transposeB: c.transposeB, m: c.m, n: c.n, k: c.k, alpha: c.alpha,
            a: a, lda: lda, b: b, ldb: ldb, beta: c.beta, c: &out, ldc: ldc)
        return out
    }

    /// C after the naive oracle runs on `c`'s operands.
    static func expected(_ c: Case, nanInC: Bool = false) -> [Float] {
        let (a, lda, b, ldb, start, ldc) = operands(c, nanInC: nanInC)
        var out = start
        PortableMatrixMultiplier.reference(
            transposeA: c.transposeA, transposeB: c.transposeB, m: c.m, n: c.n, k: c.k, alpha: c.alpha,
            a: a, lda: lda, b: b, ldb: ldb, beta: c.beta, c: &out, ldc: ldc)
        return out
    }

    /// ‖actual − expected‖ / (‖expected‖ + ‖beta·C₀‖) over C's m×n block: relative to the terms that
    /// were summed, so a result that cancels to near zero is not held to a tighter bound. Infinity if
    /// a padding column of C changed (NaN padding must stay NaN).
    static func error(_ actual: [Float], _ expected: [Float], _ c: Case, nanInC: Bool = false) -> Double {
        let ldc = c.n + c.padding
        let start = operands(c, nanInC: nanInC).c
        var difference = 0.0, scale = 0.0, previous = 0.0
        for i in 0..<c.m {
            for j in c.n..<ldc {
                let value = actual[i * ldc + j], original = start[i * ldc + j]
                if !(value == original || (value.isNaN && original.isNaN)) { return .infinity }
            }
            for j in 0..<c.n {
                let index = i * ldc + j
                let d = Double(actual[index]) - Double(expected[index])
                difference += d * d
                scale += Double(expected[index]) * Double(expected[index])
                if c.beta != 0 { previous += Double(c.beta * start[index]) * Double(c.beta * start[index]) }
            }
        }
        let norm = scale.squareRoot() + previous.squareRoot()
        return norm == 0 ? difference.squareRoot() : difference.squareRoot() / norm
    }

    /// Runs `multiplier` and the oracle on the same random inputs; returns the relative error.
    static func compare(_ multiplier: any MatrixMultiplier, _ c: Case, nanInC: Bool = false) -> Double {
        error(run(multiplier, c, nanInC: nanInC), expected(c, nanInC: nanInC), c, nanInC: nanInC)
    }

    /// ~1e-5 relative, growing like √K with the length of the float32 sums.
    static func tolerance(_ c: Case) -> Double { 1e-5 * Double(max(c.k, 1)).squareRoot() }

    @Test("portable kernel vs the naive oracle", arguments: cases)
    func portable(_ c: Case) {
        let error = Self.compare(PortableMatrixMultiplier(), c)
        #expect(error < Self.tolerance(c), "relative error \(error)")
    }

    @Test("system BLAS vs the naive oracle", .enabled(if: BLASMatrixMultiplier.shared != nil), arguments: cases)
    func blas(_ c: Case) throws {
        let blas = try #require(BLASMatrixMultiplier.shared)
        let error = Self.compare(blas, c)
        #expect(error < Self.tolerance(c), "relative error \(error) (\(blas.name): \(blas.libraryPath))")
    }

    /// Shapes too large for the oracle in a debug build: the two backends against each other.
    @Test("system BLAS vs the portable kernel on large shapes", .enabled(if: BLASMatrixMultiplier.shared != nil),
          arguments: [(100, 530, 300), (6, 1100, 700), (300, 40, 530)])
    func blasAgainstPortable(_ shape: (Int, Int, Int)) throws {
        let blas = try #require(BLASMatrixMultiplier.shared)
        let (m, n, k) = shape
        for transposeA in [false, true] {
            for transposeB in [false, true] {
                let c = Case(m: m, n: n, k: k, transposeA: transposeA, transposeB: transposeB, alpha: 0.5,
                             beta: transposeA ? 0.25 : 0, padding: transposeB ? 3 : 0)
                let error = Self.error(Self.run(blas, c), Self.run(PortableMatrixMultiplier(), c), c)
                #expect(error < 2 * Self.tolerance(c), "\(c.testDescription): relative error \(error) (\(blas.name))")
            }
        }
    }

    @Test("beta = 0 overwrites C without reading it (NaN in C does not propagate)")
    func betaZeroIgnoresNaN() throws {
        var backends: [any MatrixMultiplier] = [PortableMatrixMultiplier()]
        if let blas = BLASMatrixMultiplier.shared { backends.append(blas) }
        // Few-rows (dot and axpy), single-row (BLAS gemv), packed (with edge tiles) paths.
        let shapes = [(9, 21, 7), (1, 37, 19), (1, 70, 600), (3, 40, 9), (60, 20, 300), (40, 520, 40)]
        for backend in backends {
            for (m, n, k) in shapes {
                for transposeA in [false, true] {
                    for transposeB in [false, true] {
                        let c = Case(m: m, n: n, k: k, transposeA: transposeA, transposeB: transposeB, alpha: 1, beta: 0,
                                     padding: 1)
                        let error = Self.compare(backend, c, nanInC: true)
                        #expect(error < Self.tolerance(c), "\(backend.name) \(c.testDescription): relative error \(error)")
                    }
                }
            }
        }
    }

    @Test("k = 0 scales C by beta; alpha = 0 ignores A and B")
    func degenerateArguments() {
        var backends: [any MatrixMultiplier] = [PortableMatrixMultiplier()]
        if let blas = BLASMatrixMultiplier.shared { backends.append(blas) }
        for backend in backends {
            var c: [Float] = [1, 2, 3, 4]
            let a: [Float] = [0], b: [Float] = [0]
            backend.gemm(transposeA: false, transposeB: false, m: 2, n: 2, k: 0, alpha: 1, a: a, lda: 1, b: b, ldb: 2,
                         beta: 0.5, c: &c, ldc: 2)
            #expect(c == [0.5, 1, 1.5, 2], "\(backend.name)")
            backend.gemm(transposeA: true, transposeB: true, m: 2, n: 2, k: 0, alpha: 1, a: a, lda: 2, b: b, ldb: 1,
                         beta: 0, c: &c, ldc: 2)
            #expect(c == [0, 0, 0, 0], "\(backend.name)")
            // m = 0 or n = 0: nothing is touched.
            var untouched: [Float] = [7]
            backend.gemm(transposeA: false, transposeB: false, m: 0, n: 1, k: 3, alpha: 1, a: a, lda: 3, b: [1, 2, 3],
                         ldb: 1, beta: 0, c: &untouched, ldc: 1)
            backend.gemm(transposeA: false, transposeB: false, m: 1, n: 0, k: 1, alpha: 1, a: a, lda: 1, b: b,
                         ldb: 1, beta: 0, c: &untouched, ldc: 1)
            #expect(untouched == [7], "\(backend.name)")
        }
        // alpha = 0 (portable): C = beta·C even where A holds NaN.
        var c: [Float] = [1, 2, 3, 4]
        let nan: [Float] = [.nan, .nan, .nan, .nan]
        PortableMatrixMultiplier().gemm(
            transposeA: false, transposeB: false, m: 2, n: 2, k: 2, alpha: 0, a: nan, lda: 2, b: nan, ldb: 2,
            beta: 2, c: &c, ldc: 2)
        #expect(c == [2, 4, 6, 8])
    }

    /// The small-batch kernel (used by the BLAS backend for decoding-sized x·Wᵀ products), AVX2 or
    /// with its AVX-512 tiles.
    struct SmallBatch: MatrixMultiplier {
        var avx512 = false
        var name: String { avx512 ? "small-batch avx512" : "small-batch" }
        func gemm(
            transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Float, a: UnsafePointer<Float>, lda: Int,
            b: UnsafePointer<Float>, ldb: Int, beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
        ) {
            SmallBatchGEMM.multiply(m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc,
                                    avx512: avx512)
        }
    }

    @Test("small-batch kernel vs the naive oracle", .enabled(if: SmallBatchGEMM.isAvailable),
          arguments: [(1, 64, 8), (2, 67, 9), (3, 300, 576), (4, 129, 33), (5, 1001, 70), (6, 70, 17), (8, 203, 64), (10, 97, 24),
                     (11, 130, 41), (12, 77, 8), (16, 515, 131), (32, 260, 576), (64, 96, 40), (8, 70, 16), (12, 66, 576),
                     (20, 100, 1536), (24, 64, 47), (48, 257, 15)])
    func smallBatch(_ shape: (Int, Int, Int)) {
        let (m, n, k) = shape
        for avx512 in CPUFeatures.avx512 ? [false, true] : [false] {
            for (alpha, beta, padding) in [(Float(1), Float(0), 0), (-0.5, 1, 3), (2, 0.25, 1)] {
                let c = Case(m: m, n: n, k: k, transposeA: false, transposeB: true, alpha: alpha, beta: beta, padding: padding)
                let error = Self.compare(SmallBatch(avx512: avx512), c)
                #expect(error < Self.tolerance(c), "\(c.testDescription) avx512 \(avx512): relative error \(error)")
            }
        }
        #expect(SmallBatchGEMM.applies(transposeA: false, transposeB: true, m: m, n: n, k: k))
        #expect(!SmallBatchGEMM.applies(transposeA: false, transposeB: false, m: m, n: n, k: k))
    }

    @Test func bestBackendIsReported() {
        #expect(["openblas", "blas", "accelerate", "portable"].contains(MatrixMultiply.best.name))
        if let blas = BLASMatrixMultiplier.shared {
            #expect(MatrixMultiply.best.name == blas.name)
            #expect(!blas.libraryPath.isEmpty)
        }
    }
}
