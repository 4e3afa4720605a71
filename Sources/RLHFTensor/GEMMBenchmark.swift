/// Measures the GFLOP/s of a ``MatrixMultiplier`` on one shape.
public enum GEMMBenchmark {
    /// 2·M·N·K / best seconds / 10⁹ over repeated calls for at least `minimumSeconds`, after one
    /// warm-up call, on random matrices.
    public static func gigaflops(
        of multiplier: any MatrixMultiplier, m: Int, n: Int, k: Int, transposeA: Bool = false,
        transposeB: Bool = false, minimumSeconds: Double = 0.5
    ) -> Double {
        var generator = SeededGenerator(seed: 42)
        let a = FloatBuffer(count: m * k), b = FloatBuffer(count: k * n), c = FloatBuffer(count: m * n)
        for i in 0..<a.count { a.pointer[i] = generator.nextUniform() - 0.5 }
        for i in 0..<b.count { b.pointer[i] = generator.nextUniform() - 0.5 }
        let lda = transposeA ? m : k, ldb = transposeB ? k : n
        func call() {
            multiplier.gemm(
                transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: 1, a: a.pointer, lda: lda,
                b: b.pointer, ldb: ldb, beta: 0, c: c.pointer, ldc: n)
        }
        call()
        let clock = ContinuousClock()
        let start = clock.now
        var best = Double.infinity
        repeat {
            let callStart = clock.now
            call()
            let (seconds, attoseconds) = (clock.now - callStart).components
            best = min(best, Double(seconds) + Double(attoseconds) * 1e-18)
        } while (clock.now - start) < .milliseconds(Int(minimumSeconds * 1000))
        return 2 * Double(m) * Double(n) * Double(k) / best / 1e9
    }
}
