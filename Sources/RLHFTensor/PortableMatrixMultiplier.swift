/// A portable, cache-blocked SIMD GEMM in Swift: the fallback when no BLAS is installed, and a
/// second implementation the BLAS path is tested against.
///
/// Two strategies, chosen per call:
///
/// - **Packed** (the general case): classic Goto/BLIS blocking. For each column block of op(B)
///   (``nc`` columns) and depth block (``kc``), op(B)[kc, nc] is packed into ``nr``-column strips;
///   for each row block of op(A) (``mc`` rows), op(A)[mc, kc] is packed into ``mr``-row strips,
///   pre-multiplied by alpha, with every value stored four times (a ready-made broadcast, so the
///   inner loop issues only aligned loads, multiplies and adds). Transposes and leading dimensions
///   are resolved while packing; a register micro-kernel then accumulates ``mr``×``nr`` tiles of C.
///   Work is split over the cores by row strips of C (by column strips when C is short and wide).
/// - **Few rows** (decoding: m ≤ 4, or m ≤ ``smallRowLimit`` with a small op(A)): op(B) is not packed,
///   since each of its elements is used only m times. See ``smallRows``.
///
/// The library is built for baseline x86-64 (SSE2, sixteen 128-bit registers), so the kernels are
/// written in `SIMD4<Float>`: the 6×8 packed tile is 12 accumulators + 2 B vectors + 1 temporary.
/// On arm64 the same code uses fused multiply-adds. beta is folded into the first store of each
/// tile (beta == 0 writes C without reading it, so NaNs in C do not propagate).
public struct PortableMatrixMultiplier: MatrixMultiplier {
    public init() {}

    public var name: String { "portable" }

    /// Rows of a packed register tile.
    static let mr = 6
    /// Columns of a packed register tile (two `SIMD4<Float>`).
    static let nr = 8
    /// Depth of a packed block.
    static let kc = 256
    /// Rows of a packed op(A) block (a multiple of ``mr``): mc·kc·4 floats = 192 KiB, kept in L2.
    static let mc = 48
    /// Columns of a packed op(B) block (a multiple of ``nr``): kc·nc floats = 512 KiB.
    static let nc = 512
    /// Below this many flops a packed call stays on the calling thread.
    static let parallelThreshold = 1 << 21
    /// The same for the few-rows path, which has no packing to amortise: a 1×576×576 product
    /// (0.66 Mflop) already gains from two threads.
    static let smallParallelThreshold = 1 << 19
    /// Most rows of C for the unpacked path (when m·k ≤ ``smallRowElements``; m ≤ 4 always takes it).
    static let smallRowLimit = 32
    /// Largest op(A) (m·k floats, 256 KiB) the unpacked path streams per group of columns.
    static let smallRowElements = 1 << 16

    /// `C = alpha · op(A) · op(B) + beta · C`, row-major; see ``MatrixMultiplier`` for the shapes.
    public func gemm(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Float,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        guard m > 0, n > 0 else { return }
        guard k > 0, alpha != 0 else {
            Self.scale(c, ldc: ldc, m: m, n: n, by: beta)
            return
        }
        if m <= 4 || (m <= Self.smallRowLimit && m * k <= Self.smallRowElements) {
            Self.smallRows(
                transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda,
                b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
            return
        }
        nonisolated(unsafe) let a = a, b = b, c = c
        let mr = Self.mr, nr = Self.nr
        let rowStrips = (m + mr - 1) / mr, columnStrips = (n + nr - 1) / nr
        let threads = 2 * m * n * k < Self.parallelThreshold ? 1 : Parallel.threadCount
        // Rows when every thread gets a few row strips; otherwise (short, wide C) columns.
        let splitRows = rowStrips >= 2 * threads || rowStrips >= columnStrips
        let units = splitRows ? rowStrips : columnStrips
        Parallel.forEachChunk(count: units, minimumChunk: threads == 1 ? units : 1) { range in
            if splitRows {
                let start = range.lowerBound * mr, end = min(m, range.upperBound * mr)
                Self.blocked(
                    transposeA: transposeA, transposeB: transposeB, m: end - start, n: n, k: k, alpha: alpha,
                    a: transposeA ? a + start : a + start * lda, lda: lda, b: b, ldb: ldb,
                    beta: beta, c: c + start * ldc, ldc: ldc)
            } else {
                let start = range.lowerBound * nr, end = min(n, range.upperBound * nr)
                Self.blocked(
                    transposeA: transposeA, transposeB: transposeB, m: m, n: end - start, k: k, alpha: alpha,
                    a: a, lda: lda, b: transposeB ? b + start * ldb : b + start, ldb: ldb,
                    beta: beta, c: c + start, ldc: ldc)
            }
        }
    }

    /// C[m, n] ← beta · C (beta == 0 writes zeros without reading C).
    static func scale(_ c: UnsafeMutablePointer<Float>, ldc: Int, m: Int, n: Int, by beta: Float) {
        guard beta != 1 else { return }
        for i in 0..<m {
            let row = c + i * ldc
            if beta == 0 {
                row.update(repeating: 0, count: n)
            } else {
                for j in 0..<n { row[j] *= beta }
            }
        }
    }

    /// 64-byte-aligned scratch of `count` floats (uninitialised).
    static func allocateAligned(_ count: Int) -> UnsafeMutablePointer<Float> {
        UnsafeMutableRawPointer.allocate(byteCount: max(1, count) * MemoryLayout<Float>.stride, alignment: 64)
            .bindMemory(to: Float.self, capacity: max(1, count))
    }

    /// `acc += x · y` (fused on arm64, where that is one instruction; separate on baseline x86-64).
    @inline(__always)
    static func multiplyAdd(_ acc: inout SIMD4<Float>, _ x: SIMD4<Float>, _ y: SIMD4<Float>) {
        #if arch(arm64)
        acc.addProduct(x, y)
        #else
        acc += x * y
        #endif
    }

    // MARK: - Packed path

    /// How a finished tile is combined with C.
    enum StoreMode {
        /// C = tile (first depth block, beta == 0: C is not read).
        case overwrite
        /// C += tile (beta == 1, or a later depth block).
        case accumulate
        /// C = beta·C + tile (first depth block, other beta).
        case scale

        /// The mode for the first contribution to C.
        init(beta: Float) {
            self = beta == 0 ? .overwrite : (beta == 1 ? .accumulate : .scale)
        }
    }

    /// Single-threaded blocked GEMM on one part of C: C[m, n] = alpha·op(A)[m, k]·op(B)[k, n] + beta·C
    /// with m, n, k > 0. Owns its packing scratch.
    static func blocked(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Float,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        let maximumDepth = min(kc, k)
        let blockRows = min(mc, (m + mr - 1) / mr * mr)
        let blockColumns = min(nc, (n + nr - 1) / nr * nr)
        let packedA = allocateAligned(blockRows * maximumDepth * 4)
        let packedB = allocateAligned(maximumDepth * blockColumns)
        let edge = allocateAligned(mr * nr)
        defer {
            packedA.deallocate()
            packedB.deallocate()
            edge.deallocate()
        }
        let firstMode = StoreMode(beta: beta)
        for j0 in stride(from: 0, to: n, by: nc) {
            let columns = min(nc, n - j0)
            for p0 in stride(from: 0, to: k, by: kc) {
                let depth = min(kc, k - p0)
                let mode = p0 == 0 ? firstMode : .accumulate
                packB(transposeB, b, ldb, depth: p0, depth, columns: j0, columns, into: packedB)
                for i0 in stride(from: 0, to: m, by: mc) {
                    let rows = min(mc, m - i0)
                    packA(transposeA, a, lda, rows: i0, rows, depth: p0, depth, alpha: alpha, into: packedA)
                    for jr in stride(from: 0, to: columns, by: nr) {
                        let tileColumns = min(nr, columns - jr)
                        let panelB = UnsafePointer(packedB + jr * depth)
                        for ir in stride(from: 0, to: rows, by: mr) {
                            let tileRows = min(mr, rows - ir)
                            let target = c + (i0 + ir) * ldc + j0 + jr
                            // Edge tiles are computed whole (the panels are zero-padded) into
                            // scratch, then the valid part is combined with C.
                            let full = tileRows == mr && tileColumns == nr
                            microKernel(
                                depth: depth, a: UnsafePointer(packedA + ir * depth * 4), b: panelB,
                                c: full ? target : edge, ldc: full ? ldc : nr, mode: full ? mode : .overwrite,
                                beta: beta)
                            if !full {
                                combine(edge, into: target, ldc: ldc, rows: tileRows, columns: tileColumns,
                                        mode: mode, beta: beta)
                            }
                        }
                    }
                }
            }
        }
    }

    /// Packs alpha·op(A)[i0 ..< i0+rows, p0 ..< p0+depth] into ``mr``-row strips, each value four times.
    ///
    /// Strip s (rows s·mr ..< s·mr+mr) starts at `packed + s·mr·depth·4`; within it, step p holds
    /// mr groups of 4 equal floats (row r at float offset (p·mr + r)·4). Rows past `rows` are zero.
    static func packA(
        _ transposed: Bool, _ a: UnsafePointer<Float>, _ lda: Int, rows i0: Int, _ rows: Int,
        depth p0: Int, _ depth: Int, alpha: Float, into packed: UnsafeMutablePointer<Float>
    ) {
        let raw = UnsafeMutableRawPointer(packed)
        let vectorBytes = MemoryLayout<SIMD4<Float>>.stride
        for strip in stride(from: 0, to: rows, by: mr) {
            let destination = raw + strip * depth * vectorBytes
            let stripRows = min(mr, rows - strip)
            if transposed {
                // A is stored [K, M]: at each depth the strip's rows are contiguous.
                for p in 0..<depth {
                    let source = a + (p0 + p) * lda + i0 + strip
                    let step = destination + p * mr * vectorBytes
                    for r in 0..<mr {
                        let value: Float = r < stripRows ? alpha * source[r] : 0
                        step.storeBytes(of: SIMD4(repeating: value), toByteOffset: r * vectorBytes, as: SIMD4<Float>.self)
                    }
                }
            } else {
                // A is stored [M, K]: walk each row contiguously.
                for r in 0..<mr {
                    let column = destination + r * vectorBytes
                    if r < stripRows {
                        let source = a + (i0 + strip + r) * lda + p0
                        for p in 0..<depth {
                            column.storeBytes(
                                of: SIMD4(repeating: alpha * source[p]), toByteOffset: p * mr * vectorBytes,
                                as: SIMD4<Float>.self)
                        }
                    } else {
                        for p in 0..<depth {
                            column.storeBytes(of: SIMD4<Float>(), toByteOffset: p * mr * vectorBytes, as: SIMD4<Float>.self)
                        }
                    }
                }
            }
        }
    }

    /// Packs op(B)[p0 ..< p0+depth, j0 ..< j0+columns] into ``nr``-column strips.
    ///
    /// Strip s (columns s·nr ..< s·nr+nr) starts at `packed + s·nr·depth`; within it, step p holds
    /// the nr values of row p. Columns past `columns` are zero.
    static func packB(
        _ transposed: Bool, _ b: UnsafePointer<Float>, _ ldb: Int, depth p0: Int, _ depth: Int,
        columns j0: Int, _ columns: Int, into packed: UnsafeMutablePointer<Float>
    ) {
        for strip in stride(from: 0, to: columns, by: nr) {
            let destination = packed + strip * depth
            let stripColumns = min(nr, columns - strip)
            if transposed {
                // B is stored [N, K]: each column of op(B) is a contiguous row of B.
                for column in 0..<nr {
                    if column < stripColumns {
                        let source = b + (j0 + strip + column) * ldb + p0
                        for p in 0..<depth { destination[p * nr + column] = source[p] }
                    } else {
                        for p in 0..<depth { destination[p * nr + column] = 0 }
                    }
                }
            } else if stripColumns == nr {
                let raw = UnsafeMutableRawPointer(destination)
                for p in 0..<depth {
                    let source = UnsafeRawPointer(b + (p0 + p) * ldb + j0 + strip)
                    raw.storeBytes(of: source.loadUnaligned(as: SIMD4<Float>.self), toByteOffset: p * 32, as: SIMD4<Float>.self)
                    raw.storeBytes(
                        of: source.loadUnaligned(fromByteOffset: 16, as: SIMD4<Float>.self), toByteOffset: p * 32 + 16,
                        as: SIMD4<Float>.self)
                }
            } else {
                for p in 0..<depth {
                    let source = b + (p0 + p) * ldb + j0 + strip
                    let row = destination + p * nr
                    for column in 0..<nr { row[column] = column < stripColumns ? source[column] : 0 }
                }
            }
        }
    }

    /// Combines a 6×8 tile computed from packed panels with C[6, 8] (row stride `ldc`) per `mode`.
    ///
    /// `a`: `depth` steps of 6 broadcast vectors (``packA``); `b`: `depth` rows of 8 floats (``packB``).
    @inline(__always)
    static func microKernel(
        depth: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>, c: UnsafeMutablePointer<Float>, ldc: Int,
        mode: StoreMode, beta: Float
    ) {
        var c00 = SIMD4<Float>(), c01 = SIMD4<Float>()
        var c10 = SIMD4<Float>(), c11 = SIMD4<Float>()
        var c20 = SIMD4<Float>(), c21 = SIMD4<Float>()
        var c30 = SIMD4<Float>(), c31 = SIMD4<Float>()
        var c40 = SIMD4<Float>(), c41 = SIMD4<Float>()
        var c50 = SIMD4<Float>(), c51 = SIMD4<Float>()
        var pa = UnsafeRawPointer(a), pb = UnsafeRawPointer(b)
        for _ in 0..<depth {
            let b0 = pb.load(as: SIMD4<Float>.self)
            let b1 = pb.load(fromByteOffset: 16, as: SIMD4<Float>.self)
            let a0 = pa.load(as: SIMD4<Float>.self)
            multiplyAdd(&c00, a0, b0); multiplyAdd(&c01, a0, b1)
            let a1 = pa.load(fromByteOffset: 16, as: SIMD4<Float>.self)
            multiplyAdd(&c10, a1, b0); multiplyAdd(&c11, a1, b1)
            let a2 = pa.load(fromByteOffset: 32, as: SIMD4<Float>.self)
            multiplyAdd(&c20, a2, b0); multiplyAdd(&c21, a2, b1)
            let a3 = pa.load(fromByteOffset: 48, as: SIMD4<Float>.self)
            multiplyAdd(&c30, a3, b0); multiplyAdd(&c31, a3, b1)
            let a4 = pa.load(fromByteOffset: 64, as: SIMD4<Float>.self)
            multiplyAdd(&c40, a4, b0); multiplyAdd(&c41, a4, b1)
            let a5 = pa.load(fromByteOffset: 80, as: SIMD4<Float>.self)
            multiplyAdd(&c50, a5, b0); multiplyAdd(&c51, a5, b1)
            pa += 96
            pb += 32
        }
        store(c00, c01, to: c, mode: mode, beta: beta)
        store(c10, c11, to: c + ldc, mode: mode, beta: beta)
        store(c20, c21, to: c + 2 * ldc, mode: mode, beta: beta)
        store(c30, c31, to: c + 3 * ldc, mode: mode, beta: beta)
        store(c40, c41, to: c + 4 * ldc, mode: mode, beta: beta)
        store(c50, c51, to: c + 5 * ldc, mode: mode, beta: beta)
    }

    /// Combines 8 consecutive floats of C (unaligned) with `low`, `high` per `mode`.
    @inline(__always)
    static func store(
        _ low: SIMD4<Float>, _ high: SIMD4<Float>, to row: UnsafeMutablePointer<Float>, mode: StoreMode, beta: Float
    ) {
        let raw = UnsafeMutableRawPointer(row)
        switch mode {
        case .overwrite:
            raw.storeBytes(of: low, as: SIMD4<Float>.self)
            raw.storeBytes(of: high, toByteOffset: 16, as: SIMD4<Float>.self)
        case .accumulate:
            raw.storeBytes(of: raw.loadUnaligned(as: SIMD4<Float>.self) + low, as: SIMD4<Float>.self)
            raw.storeBytes(
                of: raw.loadUnaligned(fromByteOffset: 16, as: SIMD4<Float>.self) + high, toByteOffset: 16,
                as: SIMD4<Float>.self)
        case .scale:
            raw.storeBytes(of: beta * raw.loadUnaligned(as: SIMD4<Float>.self) + low, as: SIMD4<Float>.self)
            raw.storeBytes(
                of: beta * raw.loadUnaligned(fromByteOffset: 16, as: SIMD4<Float>.self) + high, toByteOffset: 16,
                as: SIMD4<Float>.self)
        }
    }

    /// Combines the top-left rows×columns of a 6×8 `tile` (row stride 8) with C, for edge tiles.
    static func combine(
        _ tile: UnsafeMutablePointer<Float>, into c: UnsafeMutablePointer<Float>, ldc: Int, rows: Int, columns: Int,
        mode: StoreMode, beta: Float
    ) {
        for r in 0..<rows {
            let source = tile + r * nr, row = c + r * ldc
            for j in 0..<columns {
                switch mode {
                case .overwrite: row[j] = source[j]
                case .accumulate: row[j] += source[j]
                case .scale: row[j] = beta * row[j] + source[j]
                }
            }
        }
    }

    // MARK: - Few rows of C (decoding)

    /// C[m, n] for few rows m without packing op(B): each element of B is used only m times, so
    /// packing it would cost about as much as the arithmetic.
    ///
    /// alpha·op(A) is copied to a contiguous [m, k] scratch; then, split by columns over the cores,
    /// B stored [N, K] (`transposeB`, e.g. x·Wᵀ) is consumed as dot products of contiguous rows
    /// (``dotColumns``), and B stored [K, N] as 16-column runs of its rows scaled by broadcast A
    /// values (``axpyColumns``). m, n, k > 0.
    static func smallRows(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Float,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        let scaled = allocateAligned(m * k)
        defer { scaled.deallocate() }
        for i in 0..<m {
            let row = scaled + i * k
            if transposeA {
                for p in 0..<k { row[p] = alpha * a[p * lda + i] }
            } else {
                let source = a + i * lda
                for p in 0..<k { row[p] = alpha * source[p] }
            }
        }
        nonisolated(unsafe) let a = UnsafePointer(scaled), b = b, c = c
        let threads = 2 * m * n * k < smallParallelThreshold ? 1 : Parallel.threadCount
        Parallel.forEachChunk(count: n, minimumChunk: threads == 1 ? n : 64) { range in
            if transposeB {
                dotColumns(m: m, k: k, a: a, b: b, ldb: ldb, columns: range, beta: beta, c: c, ldc: ldc)
            } else {
                axpyColumns(m: m, k: k, a: a, b: b, ldb: ldb, columns: range, beta: beta, c: c, ldc: ldc)
            }
        }
    }

    /// `c[lane] = sums[lane] + beta·c[lane]` for the first `count` (≤ 4) lanes; beta == 0 does not read C.
    @inline(__always)
    static func storeSums(_ sums: SIMD4<Float>, to c: UnsafeMutablePointer<Float>, count: Int, beta: Float) {
        for lane in 0..<count { c[lane] = beta == 0 ? sums[lane] : sums[lane] + beta * c[lane] }
    }

    /// `[x.sum(), y.sum(), z.sum(), w.sum()]` with vector additions.
    @inline(__always)
    static func laneSums(_ x: SIMD4<Float>, _ y: SIMD4<Float>, _ z: SIMD4<Float>, _ w: SIMD4<Float>) -> SIMD4<Float> {
        let xy = SIMD4(lowHalf: x.lowHalf, highHalf: y.lowHalf) + SIMD4(lowHalf: x.highHalf, highHalf: y.highHalf)
        let zw = SIMD4(lowHalf: z.lowHalf, highHalf: w.lowHalf) + SIMD4(lowHalf: z.highHalf, highHalf: w.highHalf)
        return SIMD4(lowHalf: xy.evenHalf, highHalf: zw.evenHalf) + SIMD4(lowHalf: xy.oddHalf, highHalf: zw.oddHalf)
    }

    /// C[m, columns] = A[m, k] · B[columns, k]ᵀ (+ beta·C), B row-major with row stride `ldb`, `a`
    /// contiguous (row stride k): dot products of contiguous rows, four columns of C at a time (their
    /// rows of B stay in L1) against two rows of A at a time.
    static func dotColumns(
        m: Int, k: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>, ldb: Int, columns: Range<Int>,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        let vectorBytes = (k & ~3) * MemoryLayout<Float>.stride
        var j = columns.lowerBound
        while j < columns.upperBound {
            let count = min(4, columns.upperBound - j)
            // Columns past the range repeat the last one; their sums are dropped.
            let last = j + count - 1
            let y0 = b + j * ldb, y1 = b + min(j + 1, last) * ldb
            let y2 = b + min(j + 2, last) * ldb, y3 = b + min(j + 3, last) * ldb
            let b0 = UnsafeRawPointer(y0), b1 = UnsafeRawPointer(y1), b2 = UnsafeRawPointer(y2), b3 = UnsafeRawPointer(y3)
            var i = 0
            while i < m {
                let rows = i + 1 < m ? 2 : 1
                let x0 = a + i * k, x1 = a + (i + rows - 1) * k
                let a0 = UnsafeRawPointer(x0), a1 = UnsafeRawPointer(x1)
                var s00 = SIMD4<Float>(), s01 = SIMD4<Float>(), s02 = SIMD4<Float>(), s03 = SIMD4<Float>()
                var s10 = SIMD4<Float>(), s11 = SIMD4<Float>(), s12 = SIMD4<Float>(), s13 = SIMD4<Float>()
                var offset = 0
                if rows == 2 {
                    while offset < vectorBytes {
                        let u = a0.loadUnaligned(fromByteOffset: offset, as: SIMD4<Float>.self)
                        let v = a1.loadUnaligned(fromByteOffset: offset, as: SIMD4<Float>.self)
                        let w0 = b0.loadUnaligned(fromByteOffset: offset, as: SIMD4<Float>.self)
                        multiplyAdd(&s00, u, w0); multiplyAdd(&s10, v, w0)
                        let w1 = b1.loadUnaligned(fromByteOffset: offset, as: SIMD4<Float>.self)
                        multiplyAdd(&s01, u, w1); multiplyAdd(&s11, v, w1)
                        let w2 = b2.loadUnaligned(fromByteOffset: offset, as: SIMD4<Float>.self)
                        multiplyAdd(&s02, u, w2); multiplyAdd(&s12, v, w2)
                        let w3 = b3.loadUnaligned(fromByteOffset: offset, as: SIMD4<Float>.self)
                        multiplyAdd(&s03, u, w3); multiplyAdd(&s13, v, w3)
                        offset += 16
                    }
                } else {
                    // One row: two partial sums per column (s0·, s1·) keep eight additions in flight.
                    while offset + 32 <= vectorBytes {
                        let u = a0.loadUnaligned(fromByteOffset: offset, as: SIMD4<Float>.self)
                        let v = a0.loadUnaligned(fromByteOffset: offset + 16, as: SIMD4<Float>.self)
                        multiplyAdd(&s00, u, b0.loadUnaligned(fromByteOffset: offset, as: SIMD4<Float>.self))
                        multiplyAdd(&s10, v, b0.loadUnaligned(fromByteOffset: offset + 16, as: SIMD4<Float>.self))
                        multiplyAdd(&s01, u, b1.loadUnaligned(fromByteOffset: offset, as: SIMD4<Float>.self))
                        multiplyAdd(&s11, v, b1.loadUnaligned(fromByteOffset: offset + 16, as: SIMD4<Float>.self))
                        multiplyAdd(&s02, u, b2.loadUnaligned(fromByteOffset: offset, as: SIMD4<Float>.self))
                        multiplyAdd(&s12, v, b2.loadUnaligned(fromByteOffset: offset + 16, as: SIMD4<Float>.self))
                        multiplyAdd(&s03, u, b3.loadUnaligned(fromByteOffset: offset, as: SIMD4<Float>.self))
                        multiplyAdd(&s13, v, b3.loadUnaligned(fromByteOffset: offset + 16, as: SIMD4<Float>.self))
                        offset += 32
                    }
                    if offset < vectorBytes {
                        let u = a0.loadUnaligned(fromByteOffset: offset, as: SIMD4<Float>.self)
                        multiplyAdd(&s00, u, b0.loadUnaligned(fromByteOffset: offset, as: SIMD4<Float>.self))
                        multiplyAdd(&s01, u, b1.loadUnaligned(fromByteOffset: offset, as: SIMD4<Float>.self))
                        multiplyAdd(&s02, u, b2.loadUnaligned(fromByteOffset: offset, as: SIMD4<Float>.self))
                        multiplyAdd(&s03, u, b3.loadUnaligned(fromByteOffset: offset, as: SIMD4<Float>.self))
                    }
                    s00 += s10; s01 += s11; s02 += s12; s03 += s13
                }
                var sums0 = laneSums(s00, s01, s02, s03)
                var sums1 = laneSums(s10, s11, s12, s13)
                for p in (k & ~3)..<k {
                    let y = SIMD4(y0[p], y1[p], y2[p], y3[p])
                    sums0 += SIMD4(repeating: x0[p]) * y
                    sums1 += SIMD4(repeating: x1[p]) * y
                }
                storeSums(sums0, to: c + i * ldc + j, count: count, beta: beta)
                if rows == 2 { storeSums(sums1, to: c + (i + 1) * ldc + j, count: count, beta: beta) }
                i += rows
            }
            j += count
        }
    }

    /// C[m, columns] = A[m, k] · B[k, columns] (+ beta·C), B row-major with row stride `ldb`, `a`
    /// contiguous (row stride k): 16 contiguous columns of every row of B at a time, scaled by
    /// broadcast values of two rows of A at a time; leftover columns one by one.
    static func axpyColumns(
        m: Int, k: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>, ldb: Int, columns: Range<Int>,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        let mode = StoreMode(beta: beta)
        let rowBytes = ldb * MemoryLayout<Float>.stride
        var j = columns.lowerBound
        while j + 16 <= columns.upperBound {
            var i = 0
            while i < m {
                let rows = i + 1 < m ? 2 : 1
                let x0 = a + i * k, x1 = a + (i + rows - 1) * k
                var s00 = SIMD4<Float>(), s01 = SIMD4<Float>(), s02 = SIMD4<Float>(), s03 = SIMD4<Float>()
                var s10 = SIMD4<Float>(), s11 = SIMD4<Float>(), s12 = SIMD4<Float>(), s13 = SIMD4<Float>()
                var row = UnsafeRawPointer(b + j)
                for p in 0..<k {
                    let w0 = row.loadUnaligned(as: SIMD4<Float>.self)
                    let w1 = row.loadUnaligned(fromByteOffset: 16, as: SIMD4<Float>.self)
                    let w2 = row.loadUnaligned(fromByteOffset: 32, as: SIMD4<Float>.self)
                    let w3 = row.loadUnaligned(fromByteOffset: 48, as: SIMD4<Float>.self)
                    let u = SIMD4(repeating: x0[p])
                    multiplyAdd(&s00, u, w0); multiplyAdd(&s01, u, w1)
                    multiplyAdd(&s02, u, w2); multiplyAdd(&s03, u, w3)
                    if rows == 2 {
                        let v = SIMD4(repeating: x1[p])
                        multiplyAdd(&s10, v, w0); multiplyAdd(&s11, v, w1)
                        multiplyAdd(&s12, v, w2); multiplyAdd(&s13, v, w3)
                    }
                    row += rowBytes
                }
                let target = c + i * ldc + j
                store(s00, s01, to: target, mode: mode, beta: beta)
                store(s02, s03, to: target + 8, mode: mode, beta: beta)
                if rows == 2 {
                    store(s10, s11, to: target + ldc, mode: mode, beta: beta)
                    store(s12, s13, to: target + ldc + 8, mode: mode, beta: beta)
                }
                i += rows
            }
            j += 16
        }
        // Fewer than 16 columns left: one column at a time down B.
        while j < columns.upperBound {
            for i in 0..<m {
                let x = a + i * k
                var sum: Float = 0
                for p in 0..<k { sum += x[p] * b[p * ldb + j] }
                let target = c + i * ldc + j
                target.pointee = beta == 0 ? sum : sum + beta * target.pointee
            }
            j += 1
        }
    }

    // MARK: - Oracle

    /// The textbook triple loop with Double accumulation: the oracle for tests. Same arguments and
    /// semantics as ``gemm(transposeA:transposeB:m:n:k:alpha:a:lda:b:ldb:beta:c:ldc:)`` (row-major
    /// C[M, N] = alpha·op(A)[M, K]·op(B)[K, N] + beta·C; beta == 0 does not read C), single-threaded.
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
