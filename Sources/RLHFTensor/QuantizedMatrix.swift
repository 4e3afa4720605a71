import CRLHFKernels

/// A weight matrix [rows, columns] (row-major, stored [out, in]) in 8-bit blocks of 32 with a float
/// scale per block — llama.cpp's Q8_0 layout, with the scale kept as float32 — for the products of
/// decoding: C[M, rows] = A[M, columns] · Wᵀ (+ C), M ≤ ``maximumRows``.
///
/// Quantizing as llama.cpp does (scale = max |w| / 127 per block, value = round(w / scale)) means a
/// matrix that came from a Q8_0 file gets its own integers back: a block whose largest value is
/// ±127 keeps its scale, so the product is exactly what llama.cpp's weights give. Only the weights
/// are rounded; inputs and accumulation stay float32.
public final class QuantizedMatrix: @unchecked Sendable {
    /// Output features (rows of the weight).
    public let rows: Int
    /// Input features (a multiple of 32).
    public let columns: Int
    let values: UnsafeMutablePointer<Int8>
    let scales: UnsafeMutablePointer<Float>

    /// Whether the kernel runs on this CPU (``CPUFeatures/avx2FMA``; `RLHF_QUANTIZED_GEMM=off`
    /// turns it off alone). Callers keep their float weights and use them elsewhere.
    public static let isAvailable: Bool = CPUFeatures.avx2FMA && !CPUFeatures.isSwitchedOff("RLHF_QUANTIZED_GEMM")

    /// Largest M per call (the small-batch kernel's limit); longer inputs take the float weights.
    public static let maximumRows = SmallBatchGEMM.maximumRows

    /// Largest M for which the quantized product beats the float one here: up to it the weights are
    /// widened in registers (8 rows with AVX-512, 4 with AVX2); beyond it they go through a scratch
    /// block, which measured slower than streaming the float weights (batch 16: 298–340 tokens/s
    /// against 340–386, Zen 4), so decoding reads the float weights there.
    public static var fasterRows: Int { Int(rlhf_q8_fused_rows(CPUFeatures.avx512 ? 1 : 0)) }

    /// Whether a [rows, columns] matrix can be held this way (columns a multiple of 32).
    public static func supports(columns: Int) -> Bool { columns > 0 && columns % 32 == 0 }

    /// Quantizes `weights` ([rows, columns], rows `leadingDimension` apart; default `columns`).
    public init(quantizing weights: UnsafePointer<Float>, rows: Int, columns: Int, leadingDimension: Int? = nil) {
        precondition(Self.supports(columns: columns), "columns must be a positive multiple of 32")
        self.rows = rows
        self.columns = columns
        values = .allocate(capacity: max(1, rows * columns))
        scales = .allocate(capacity: max(1, rows * columns / 32))
        nonisolated(unsafe) let values = values, scales = scales, weights = weights
        let ld = leadingDimension ?? columns
        Parallel.forEachChunk(count: rows, minimumChunk: 64) { range in
            rlhf_q8_quantize(Int32(range.count), Int32(columns), weights + range.lowerBound * ld, ld,
                             values + range.lowerBound * columns, scales + range.lowerBound * columns / 32)
        }
    }

    deinit {
        values.deallocate()
        scales.deallocate()
    }

    /// Bytes held (values and scales).
    public var byteCount: Int { rows * columns + rows * columns / 32 * MemoryLayout<Float>.size }

    /// Weight [row, column] as the kernel sees it (scale × value).
    public func weight(row: Int, column: Int) -> Float {
        scales[row * columns / 32 + column / 32] * Float(values[row * columns + column])
    }

    /// c[M, rows] = a[M, columns] · Wᵀ, plus c when `accumulate`. Requires ``isAvailable`` and
    /// 1 ≤ M ≤ ``maximumRows``. Split by output rows over the cores. `avx512`: which variant
    /// (default ``CPUFeatures/avx512``; true requires it).
    public func multiply(
        _ a: UnsafePointer<Float>, rows m: Int, lda: Int? = nil, into c: UnsafeMutablePointer<Float>, ldc: Int? = nil,
        accumulate: Bool = false, avx512: Bool = CPUFeatures.avx512
    ) {
        precondition(Self.isAvailable && m >= 1 && m <= Self.maximumRows, "QuantizedMatrix.multiply: kernel unavailable or M out of range")
        precondition(!avx512 || CPUFeatures.avx512, "the AVX-512 variant needs CPUFeatures.avx512")
        nonisolated(unsafe) let a = a, c = c, v = UnsafePointer(values), s = UnsafePointer(scales)
        let K = columns, lda = lda ?? columns, ldc = ldc ?? rows
        let wide: Int32 = avx512 ? 1 : 0
        Parallel.forEachChunk(count: rows, minimumChunk: 256) { range in
            rlhf_q8_gemm_nt(Int32(m), Int32(range.lowerBound), Int32(range.upperBound), Int32(K), a, Int32(lda), v, s,
                            accumulate ? 1 : 0, c, Int32(ldc), wide)
        }
    }
}
