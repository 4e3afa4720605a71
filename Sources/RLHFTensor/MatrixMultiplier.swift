/// The compute seam for matrix multiplication.
///
/// Every GEMM in the engine goes through a `MatrixMultiplier`, so a backend can be swapped without
/// touching the model: ``BLASMatrixMultiplier`` (OpenBLAS on Linux, Accelerate on macOS, loaded at
/// run time) and ``PortableMatrixMultiplier`` (cache-blocked SIMD Swift) are the two CPU paths; a GPU
/// backend fills the same protocol later.
///
/// All matrices are **row-major**. The call computes
///
///     C[M, N] = alpha · op(A)[M, K] · op(B)[K, N] + beta · C[M, N]
///
/// where `op(A) = A` (A stored as M×K, leading dimension `lda` ≥ K) or `op(A) = Aᵀ` (A stored as
/// K×M, `lda` ≥ M), and likewise for B. `beta == 0` overwrites C without reading it (NaNs in C do not
/// propagate), as in BLAS.
public protocol MatrixMultiplier: Sendable {
    /// A short name for tables and logs, e.g. `"openblas"` or `"portable"`.
    var name: String { get }

    /// `C = alpha · op(A) · op(B) + beta · C`, row-major. See the type's documentation for shapes.
    func gemm(
        transposeA: Bool, transposeB: Bool,
        m: Int, n: Int, k: Int,
        alpha: Float,
        a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        beta: Float,
        c: UnsafeMutablePointer<Float>, ldc: Int)
}

/// Chooses the matrix multiplier for this process.
public enum MatrixMultiply {
    /// The fastest available backend: the system BLAS when it can be loaded, else the portable kernel.
    ///
    /// Set the environment variable `RLHF_BLAS=off` to force the portable path.
    public static let best: any MatrixMultiplier = {
        if let blas = BLASMatrixMultiplier.shared { return blas }
        return PortableMatrixMultiplier()
    }()
}
