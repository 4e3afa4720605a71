/// A portable, cache-blocked SIMD GEMM in Swift: the fallback when no BLAS is installed, and the
/// reference the BLAS path is tested against.
///
/// Classic Goto/BLIS structure: for each K block (KC) and row block (MC) of op(A), pack op(A)
/// into MR-row strips and op(B) into NR-column strips (this is where transposes are resolved),
/// then a register micro-kernel accumulates MR×NR tiles. Work is split over the cores by rows of C
/// (or by columns when C is short and wide, as in decoding).
public struct PortableMatrixMultiplier: MatrixMultiplier {
    public init() {}

    public var name: String { "portable" }

    /// Rows of a micro-tile.
    static let MR = 4
    /// Columns of a micro-tile (one SIMD8 pair).
    static let NR = 16
    static let KC = 256
    static let MC = 64
    static let NC = 1024

    public func gemm(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Float,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        guard m > 0, n > 0 else { return }
        nonisolated(unsafe) let a = a, b = b, c = c
        let work = 2 * m * n * max(k, 1)
        let tasks = work < 1 << 20 ? 1 : Parallel.threadCount
        let splitRows = m >= n || m >= tasks * Self.MC
        let extent = splitRows ? m : n
        let taskCount = max(1, min(tasks, extent / (splitRows ? Self.MR : Self.NR)))
        Parallel.forEach(count: taskCount) { task in
            // Align chunk boundaries to whole micro-tiles.
            let unit = splitRows ? Self.MR : Self.NR
            let units = (extent + unit - 1) / unit
            let start = min(extent, units * task / taskCount * unit)
            let end = min(extent, units * (task + 1) / taskCount * unit)
            guard start < end else { return }
            if splitRows {
                Self.blocked(
                    transposeA: transposeA, transposeB: transposeB, m: end - start, n: n, k: k, alpha: alpha,
                    a: transposeA ? a + start : a + start * lda, lda: lda, b: b, ldb: ldb,
                    beta: beta, c: c + start * ldc, ldc: ldc)
            } else {
                Self.blocked(
                    transposeA: transposeA, transposeB: transposeB, m: m, n: end - start, k: k, alpha: alpha,
                    a: a, lda: lda, b: transposeB ? b + start * ldb : b + start, ldb: ldb,
                    beta: beta, c: c + start, ldc: ldc)
            }
        }
    }

    /// Single-threaded blocked GEMM on one part of C.
    static func blocked(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Float,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        // C ← beta·C first; the kernel then only accumulates.
        if beta != 1 {
            for i in 0..<m {
                let row = c + i * ldc
                if beta == 0 { row.update(repeating: 0, count: n) } else { for j in 0..<n { row[j] *= beta } }
            }
        }
        guard k > 0, alpha != 0 else { return }
        let packedA = UnsafeMutablePointer<Float>.allocate(capacity: MC * KC)
        let packedB = UnsafeMutablePointer<Float>.allocate(capacity: KC * (NC + NR))
        defer {
            packedA.deallocate()
            packedB.deallocate()
        }
        for j0 in stride(from: 0, to: n, by: NC) {
            let nc = min(NC, n - j0)
            for p0 in stride(from: 0, to: k, by: KC) {
                let kc = min(KC, k - p0)
                packB(transposeB, b, ldb, rows: p0, kc, columns: j0, nc, into: packedB)
                for i0 in stride(from: 0, to: m, by: MC) {
                    let mc = min(MC, m - i0)
                    packA(transposeA, a, lda, rows: i0, mc, columns: p0, kc, alpha: alpha, into: packedA)
                    for jr in stride(from: 0, to: nc, by: NR) {
                        for ir in stride(from: 0, to: mc, by: MR) {
                            microKernel(
                                kc: kc, a: packedA + ir * kc, b: packedB + jr * kc,
                                c: c + (i0 + ir) * ldc + j0 + jr, ldc: ldc,
                                rows: min(MR, mc - ir), columns: min(NR, nc - jr))
                        }
                    }
                }
            }
        }
    }

    /// Packs alpha·op(A)[i0 ..< i0+mc, p0 ..< p0+kc] into MR-row strips: strip s holds, for each p,
    /// the MR values of rows s·MR ..< s·MR+MR (zero-padded).
    @inline(__always)
    static func packA(
        _ transposed: Bool, _ a: UnsafePointer<Float>, _ lda: Int, rows i0: Int, _ mc: Int, columns p0: Int, _ kc: Int,
        alpha: Float, into packed: UnsafeMutablePointer<Float>
    ) {
        for strip in stride(from: 0, to: mc, by: MR) {
            let destination = packed + strip * kc
            let rows = min(MR, mc - strip)
            for p in 0..<kc {
                for r in 0..<MR {
                    let i = i0 + strip + r, q = p0 + p
                    destination[p * MR + r] = r < rows ? alpha * (transposed ? a[q * lda + i] : a[i * lda + q]) : 0
                }
            }
        }
    }

    /// Packs op(B)[p0 ..< p0+kc, j0 ..< j0+nc] into NR-column strips: strip s holds, for each p,
    /// the NR values of columns s·NR ..< s·NR+NR (zero-padded).
    @inline(__always)
    static func packB(
        _ transposed: Bool, _ b: UnsafePointer<Float>, _ ldb: Int, rows p0: Int, _ kc: Int, columns j0: Int, _ nc: Int,
        into packed: UnsafeMutablePointer<Float>
    ) {
        for strip in stride(from: 0, to: nc, by: NR) {
            let destination = packed + strip * kc
            let columns = min(NR, nc - strip)
            for p in 0..<kc {
                let row = destination + p * NR
                let q = p0 + p
                if !transposed && columns == NR {
                    row.update(from: b + q * ldb + j0 + strip, count: NR)
                } else {
                    for col in 0..<NR {
                        let j = j0 + strip + col
                        row[col] = col < columns ? (transposed ? b[j * ldb + q] : b[q * ldb + j]) : 0
                    }
                }
            }
        }
    }

    /// C[rows, columns] += Σ_p a[p]·b[p] over a packed MR×NR tile.
    @inline(__always)
    static func microKernel(
        kc: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>, c: UnsafeMutablePointer<Float>, ldc: Int,
        rows: Int, columns: Int
    ) {
        var c00 = SIMD8<Float>(), c01 = SIMD8<Float>()
        var c10 = SIMD8<Float>(), c11 = SIMD8<Float>()
        var c20 = SIMD8<Float>(), c21 = SIMD8<Float>()
        var c30 = SIMD8<Float>(), c31 = SIMD8<Float>()
        let rb = UnsafeRawPointer(b)
        for p in 0..<kc {
            let b0 = rb.load(fromByteOffset: p * 64, as: SIMD8<Float>.self)
            let b1 = rb.load(fromByteOffset: p * 64 + 32, as: SIMD8<Float>.self)
            let ap = a + p * 4
            let a0 = SIMD8<Float>(repeating: ap[0]), a1 = SIMD8<Float>(repeating: ap[1])
            let a2 = SIMD8<Float>(repeating: ap[2]), a3 = SIMD8<Float>(repeating: ap[3])
            c00 += a0 * b0; c01 += a0 * b1
            c10 += a1 * b0; c11 += a1 * b1
            c20 += a2 * b0; c21 += a2 * b1
            c30 += a3 * b0; c31 += a3 * b1
        }
        if rows == MR && columns == NR {
            add(c00, c01, to: c)
            add(c10, c11, to: c + ldc)
            add(c20, c21, to: c + 2 * ldc)
            add(c30, c31, to: c + 3 * ldc)
            return
        }
        let tile = [c00, c01, c10, c11, c20, c21, c30, c31]
        for r in 0..<rows {
            for col in 0..<columns {
                c[r * ldc + col] += tile[r * 2 + col / 8][col % 8]
            }
        }
    }

    @inline(__always)
    static func add(_ low: SIMD8<Float>, _ high: SIMD8<Float>, to row: UnsafeMutablePointer<Float>) {
        let raw = UnsafeMutableRawPointer(row)
        raw.storeBytes(of: raw.loadUnaligned(as: SIMD8<Float>.self) + low, as: SIMD8<Float>.self)
        raw.storeBytes(of: raw.loadUnaligned(fromByteOffset: 32, as: SIMD8<Float>.self) + high, toByteOffset: 32, as: SIMD8<Float>.self)
    }

    /// The textbook triple loop with Double accumulation: the oracle for tests.
    public static func reference(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Float,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        for i in 0..<m {
            for j in 0..<n {
                var sum = 0.0
                for p in 0..<k {
                    let x = transposeA ? a[p * lda + i] : a[i * lda + p]
                    let y = transposeB ? b[j * ldb + p] : b[p * ldb + j]
                    sum += Double(x) * Double(y)
                }
                let previous = beta == 0 ? 0 : Double(beta) * Double(c[i * ldc + j])
                c[i * ldc + j] = Float(Double(alpha) * sum + previous)
            }
        }
    }
}
