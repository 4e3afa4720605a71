import CRLHFKernels

/// Packing-free GEMM for decoding-sized batches: C[M, N] = alpha·A[M, K]·B[N, K]ᵀ + beta·C with a
/// large row-major B (a weight matrix) and few rows M. B is streamed from memory once; BLAS would
/// re-pack it on every call, which at M ≈ 16 costs as much as the arithmetic.
///
/// The kernel is C with AVX2/FMA code, run where ``CPUFeatures/avx2FMA`` holds (with AVX-512 tiles
/// where ``CPUFeatures/avx512`` also holds); elsewhere callers use their regular path.
public enum SmallBatchGEMM {
    /// Whether the kernel runs: ``CPUFeatures/avx2FMA`` (so `RLHF_SIMD_KERNELS=off` disables it with
    /// the other SIMD kernels), and `RLHF_SMALL_GEMM=off` disables this kernel alone.
    public static let isAvailable: Bool = CPUFeatures.avx2FMA && !CPUFeatures.isSwitchedOff("RLHF_SMALL_GEMM")

    /// Largest M the kernel is used for; beyond it packing pays off.
    public static let maximumRows = 64

    /// Whether a call with these arguments should take the small-batch path.
    @inlinable
    public static func applies(transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int) -> Bool {
        isAvailable && !transposeA && transposeB && m >= 1 && m <= maximumRows && n >= 64 && k >= 8
    }

    /// C = alpha·A·Bᵀ + beta·C, split by output columns over the cores. Requires ``isAvailable``.
    /// `avx512`: the AVX-512 tiles (for M a multiple of 4, at least 8; default
    /// ``CPUFeatures/avx512``, and true requires it).
    public static func multiply(
        m: Int, n: Int, k: Int, alpha: Float, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int, avx512: Bool = CPUFeatures.avx512
    ) {
        precondition(!avx512 || CPUFeatures.avx512, "the AVX-512 variant needs CPUFeatures.avx512")
        nonisolated(unsafe) let a = a, b = b, c = c
        let kernel = avx512 ? rlhf_small_gemm_nt_avx512 : rlhf_small_gemm_nt
        Parallel.forEachChunk(count: n, minimumChunk: 256) { range in
            kernel(
                Int32(m), Int32(range.lowerBound), Int32(range.upperBound), Int32(k), alpha, a, Int32(lda), b, Int32(ldb),
                beta, c, Int32(ldc))
        }
    }
}
