import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// GEMM through the system BLAS (`cblas_sgemm`), loaded at run time with `dlopen`.
///
/// Nothing links against BLAS, so `swift build` works without it; ``shared`` is nil when no
/// library loads (or `RLHF_BLAS=off`), and ``MatrixMultiply/best`` then falls back to
/// ``PortableMatrixMultiplier``. Tried in order: `libopenblas.so.0`, `libopenblas.so`,
/// `libblas.so.3`, `libcblas.so.3` on Linux; Accelerate on macOS.
public final class BLASMatrixMultiplier: MatrixMultiplier, @unchecked Sendable {
    private typealias SGEMM = @convention(c) (
        Int32, Int32, Int32, Int32, Int32, Int32, Float, UnsafePointer<Float>?, Int32,
        UnsafePointer<Float>?, Int32, Float, UnsafeMutablePointer<Float>?, Int32
    ) -> Void
    private typealias SGEMV = @convention(c) (
        Int32, Int32, Int32, Int32, Float, UnsafePointer<Float>?, Int32, UnsafePointer<Float>?, Int32, Float,
        UnsafeMutablePointer<Float>?, Int32
    ) -> Void
    private typealias SetThreads = @convention(c) (Int32) -> Void
    private static let setLibraryThreads = Mutex<SetThreads?>(nil)

    /// Runs `body` with the BLAS library's own threads set to one (OpenBLAS), then back to
    /// ``Parallel/threadCount``: for several single-threaded jobs side by side, whose BLAS calls
    /// would otherwise each start the library's threads and spin against each other. The library
    /// may round differently with another thread count, so a caller that wants results independent
    /// of how its jobs are scheduled runs them all inside this, one at a time or side by side.
    public static func withSingleThreadedLibrary<Result>(_ body: () throws -> Result) rethrows -> Result {
        _ = shared
        let set = setLibraryThreads.withLock { $0 }
        set?(1)
        defer { set?(Int32(Parallel.threadCount)) }
        return try body()
    }

    private static let rowMajor: Int32 = 101, noTranspose: Int32 = 111, transpose: Int32 = 112

    private let sgemm: SGEMM
    /// Matrix-vector products (one-row GEMMs, as in batch-1 decoding) stream the matrix once instead
    /// of packing it.
    private let sgemv: SGEMV?
    /// Which library: "openblas", "accelerate" or "blas".
    public let name: String
    /// The path that was loaded.
    public let libraryPath: String

    private init(sgemm: SGEMM, sgemv: SGEMV?, name: String, libraryPath: String) {
        self.sgemm = sgemm
        self.sgemv = sgemv
        self.name = name
        self.libraryPath = libraryPath
    }

    /// The loaded system BLAS, or nil.
    public static let shared: BLASMatrixMultiplier? = {
        if let setting = getenv("RLHF_BLAS"), String(cString: setting).lowercased() == "off" { return nil }
        // OpenBLAS workers otherwise spin for ~2^28 cycles after each call, stealing the cores our own
        // kernels (attention, norms, softmax) run on between GEMMs. 2^4 cycles: sleep at once.
        // Read when the library initialises, so it must be set before dlopen; a user's value wins.
        setenv("OPENBLAS_THREAD_TIMEOUT", "4", 0)
        #if canImport(Darwin)
        let candidates = [("/System/Library/Frameworks/Accelerate.framework/Accelerate", "accelerate")]
        #else
        let candidates = [
            ("libopenblas.so.0", "openblas"), ("libopenblas.so", "openblas"), ("libblas.so.3", "blas"),
            ("libcblas.so.3", "blas"),
        ]
        #endif
        for (path, name) in candidates {
            guard let handle = dlopen(path, RTLD_NOW | RTLD_LOCAL) else { continue }
            guard let symbol = dlsym(handle, "cblas_sgemm") else {
                dlclose(handle)
                continue
            }
            if let setThreads = dlsym(handle, "openblas_set_num_threads") {
                let set = unsafeBitCast(setThreads, to: SetThreads.self)
                set(Int32(Parallel.threadCount))
                setLibraryThreads.withLock { $0 = set }
            }
            var sgemv: SGEMV?
            if let gemvSymbol = dlsym(handle, "cblas_sgemv") { sgemv = unsafeBitCast(gemvSymbol, to: SGEMV.self) }
            return BLASMatrixMultiplier(
                sgemm: unsafeBitCast(symbol, to: SGEMM.self), sgemv: sgemv, name: name, libraryPath: path)
        }
        return nil
    }()

    /// `C[M, N] = alpha · op(A)[M, K] · op(B)[K, N] + beta · C`, row-major; see ``MatrixMultiplier``.
    ///
    /// Empty C returns at once; k == 0 scales C by beta without calling BLAS; decoding-sized
    /// x·Wᵀ products go to ``SmallBatchGEMM`` where it runs, single rows to `cblas_sgemv`.
    public func gemm(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Float,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        guard m > 0, n > 0 else { return }
        precondition(
            max(m, n, k, lda, ldb, ldc) <= Int(Int32.max), "BLAS dimensions must fit in 32-bit integers")
        if k == 0 {
            // C = beta·C; BLAS would accept this too, but leading dimensions of empty A/B are moot.
            for i in 0..<m {
                let row = c + i * ldc
                for j in 0..<n { row[j] = beta == 0 ? 0 : beta * row[j] }
            }
            return
        }
        if SmallBatchGEMM.applies(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k) {
            // Decoding-sized batches against a weight matrix: stream the weights once, no packing.
            SmallBatchGEMM.multiply(m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
            return
        }
        if m == 1, let sgemv {
            // c[1, N] = a[1, K] · op(B): with B stored [N, K] (transposed) that is B·a, else Bᵀ·a.
            // beta == 0 must not read C; some OpenBLAS versions scale y by 0 (NaN · 0 = NaN), so
            // clear it here first.
            if beta == 0 { c.update(repeating: 0, count: n) }
            if transposeB {
                sgemv(Self.rowMajor, Self.noTranspose, Int32(n), Int32(k), alpha, b, Int32(ldb), a, transposeA ? Int32(lda) : 1,
                      beta, c, 1)
            } else {
                sgemv(Self.rowMajor, Self.transpose, Int32(k), Int32(n), alpha, b, Int32(ldb), a, transposeA ? Int32(lda) : 1,
                      beta, c, 1)
            }
            return
        }
        sgemm(
            Self.rowMajor, transposeA ? Self.transpose : Self.noTranspose, transposeB ? Self.transpose : Self.noTranspose,
            Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }
}
