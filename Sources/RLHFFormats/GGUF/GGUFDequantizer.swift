import RLHFTensor

/// Dequantization of ggml blocks to float32, following `dequantize_row_*` in `ggml-quants.c`
/// (same operation order, so results are bit-identical to ggml's reference on the same platform
/// rounding).
public enum GGUFDequantizer {
    /// Converts `count` elements of `type` stored at `source` into floats. `count` must be a
    /// multiple of the type's block size and `source` must hold count / blockSize blocks.
    public static func dequantize(
        _ type: GGMLType, from source: UnsafeRawPointer, count: Int, into destination: UnsafeMutablePointer<Float>
    ) {
        precondition(type.canDequantize && count % type.blockSize == 0, "cannot dequantize \(count) of \(type.name)")
        if type == .f32 {  // little-endian hosts: a plain copy
            UnsafeMutableRawPointer(destination).copyMemory(from: source, byteCount: 4 * count)
            return
        }
        let blocks = count / type.blockSize
        nonisolated(unsafe) let source = source, destination = destination
        // Parallel over blocks: every block writes its own output range.
        Parallel.forEachChunk(count: blocks, minimumChunk: 4096 / type.blockSize + 1) { range in
            for block in range {
                let x = source + block * type.blockBytes
                let y = destination + block * type.blockSize
                switch type {
                case .f16: y.pointee = half(x, 0)
                case .bf16: y.pointee = HalfPrecision.float(fromBFloat16Bits: u16(x, 0))
                case .q4_0: q4_0(x, y)
                case .q4_1: q4_1(x, y)
                case .q5_0: q5_0(x, y)
                case .q5_1: q5_1(x, y)
                case .q8_0: q8_0(x, y)
                case .q4_K: q4_K(x, y)
                case .q5_K: q5_K(x, y)
                case .q6_K: q6_K(x, y)
                case .q2_K: q2_K(x, y)
                case .q3_K: q3_K(x, y)
                case .q8_K: q8_K(x, y)
                case .iq4_nl: iq4_nl(x, y)
                case .iq4_xs: iq4_xs(x, y)
                default: break
                }
            }
        }
    }

    @inline(__always) static func u16(_ p: UnsafeRawPointer, _ offset: Int) -> UInt16 {
        UInt16(littleEndian: p.loadUnaligned(fromByteOffset: offset, as: UInt16.self))
    }
    @inline(__always) static func half(_ p: UnsafeRawPointer, _ offset: Int) -> Float {
        HalfPrecision.float(fromFloat16Bits: u16(p, offset))
    }
    @inline(__always) static func byte(_ p: UnsafeRawPointer, _ offset: Int) -> UInt8 {
        p.load(fromByteOffset: offset, as: UInt8.self)
    }

    /// Q4_0: f16 d, 16 bytes of nibbles; low nibble j → element j, high → j + 16; x = (q − 8)·d.
    static func q4_0(_ x: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = half(x, 0)
        for j in 0..<16 {
            let q = byte(x, 2 + j)
            y[j] = Float(Int(q & 0x0F) - 8) * d
            y[j + 16] = Float(Int(q >> 4) - 8) * d
        }
    }

    /// Q4_1: f16 d, f16 m, 16 bytes of nibbles; x = q·d + m.
    static func q4_1(_ x: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = half(x, 0), m = half(x, 2)
        for j in 0..<16 {
            let q = byte(x, 4 + j)
            y[j] = Float(q & 0x0F) * d + m
            y[j + 16] = Float(q >> 4) * d + m
        }
    }

    /// Q5_0: f16 d, u32 qh (fifth bits), 16 bytes of nibbles; x = (q − 16)·d.
    static func q5_0(_ x: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = half(x, 0)
        let qh = UInt32(littleEndian: x.loadUnaligned(fromByteOffset: 2, as: UInt32.self))
        for j in 0..<16 {
            let q = byte(x, 6 + j)
            let high0 = UInt8(truncatingIfNeeded: ((qh >> UInt32(j)) << 4) & 0x10)
            let high1 = UInt8(truncatingIfNeeded: (qh >> UInt32(j + 12)) & 0x10)
            y[j] = Float(Int((q & 0x0F) | high0) - 16) * d
            y[j + 16] = Float(Int((q >> 4) | high1) - 16) * d
        }
    }

    /// Q5_1: f16 d, f16 m, u32 qh, 16 bytes of nibbles; x = q·d + m.
    static func q5_1(_ x: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = half(x, 0), m = half(x, 2)
        let qh = UInt32(littleEndian: x.loadUnaligned(fromByteOffset: 4, as: UInt32.self))
        for j in 0..<16 {
            let q = byte(x, 8 + j)
            let high0 = UInt8(truncatingIfNeeded: ((qh >> UInt32(j)) << 4) & 0x10)
            let high1 = UInt8(truncatingIfNeeded: (qh >> UInt32(j + 12)) & 0x10)
            y[j] = Float((q & 0x0F) | high0) * d + m
            y[j + 16] = Float((q >> 4) | high1) * d + m
        }
    }

    /// Q8_0: f16 d, 32 signed bytes; x = q·d.
    static func q8_0(_ x: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = half(x, 0)
        for j in 0..<32 { y[j] = Float(x.load(fromByteOffset: 2 + j, as: Int8.self)) * d }
    }

    /// The 6-bit scale and min of sub-block j from the 12 packed bytes of Q4_K/Q5_K.
    @inline(__always) static func scaleMin(_ j: Int, _ s: UnsafeRawPointer) -> (Float, Float) {
        if j < 4 { return (Float(byte(s, j) & 63), Float(byte(s, j + 4) & 63)) }
        let scale = (byte(s, j + 4) & 0x0F) | ((byte(s, j - 4) >> 6) << 4)
        let minimum = (byte(s, j + 4) >> 4) | ((byte(s, j) >> 6) << 4)
        return (Float(scale), Float(minimum))
    }

    /// Q4_K: f16 d, f16 dmin, 12 scale bytes, 128 nibble bytes; 8 sub-blocks of 32: x = d·sc·q − dmin·m.
    static func q4_K(_ x: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = half(x, 0), dmin = half(x, 2)
        let scales = x + 4, qs = x + 16
        for chunk in 0..<4 {
            let (sc1, m1) = scaleMin(2 * chunk, scales), (sc2, m2) = scaleMin(2 * chunk + 1, scales)
            let d1 = d * sc1, min1 = dmin * m1, d2 = d * sc2, min2 = dmin * m2
            for l in 0..<32 {
                let q = byte(qs, 32 * chunk + l)
                y[64 * chunk + l] = d1 * Float(q & 0x0F) - min1
                y[64 * chunk + 32 + l] = d2 * Float(q >> 4) - min2
            }
        }
    }

    /// Q5_K: like Q4_K plus 32 bytes of fifth bits (qh) before the nibbles.
    static func q5_K(_ x: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = half(x, 0), dmin = half(x, 2)
        let scales = x + 4, qh = x + 16, ql = x + 48
        for chunk in 0..<4 {
            let (sc1, m1) = scaleMin(2 * chunk, scales), (sc2, m2) = scaleMin(2 * chunk + 1, scales)
            let d1 = d * sc1, min1 = dmin * m1, d2 = d * sc2, min2 = dmin * m2
            let bit1 = UInt8(1) << (2 * chunk), bit2 = UInt8(2) << (2 * chunk)
            for l in 0..<32 {
                let q = byte(ql, 32 * chunk + l), h = byte(qh, l)
                y[64 * chunk + l] = d1 * Float((q & 0x0F) + (h & bit1 != 0 ? 16 : 0)) - min1
                y[64 * chunk + 32 + l] = d2 * Float((q >> 4) + (h & bit2 != 0 ? 16 : 0)) - min2
            }
        }
    }

    /// Q6_K: 128 bytes low nibbles (ql), 64 bytes high 2-bit pairs (qh), 16 signed scales, f16 d
    /// last; 16 sub-blocks of 16: x = d·scale·(q − 32).
    static func q6_K(_ x: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = half(x, 208)
        for half in 0..<2 {
            let ql = x + 64 * half, qh = x + 128 + 32 * half, sc = x + 192 + 8 * half
            let out = y + 128 * half
            for l in 0..<32 {
                let i = l / 16
                let low0 = byte(ql, l), low32 = byte(ql, l + 32), high = byte(qh, l)
                let q1 = Int(Int8(bitPattern: (low0 & 0x0F) | ((high & 3) << 4))) - 32
                let q2 = Int(Int8(bitPattern: (low32 & 0x0F) | (((high >> 2) & 3) << 4))) - 32
                let q3 = Int(Int8(bitPattern: (low0 >> 4) | (((high >> 4) & 3) << 4))) - 32
                let q4 = Int(Int8(bitPattern: (low32 >> 4) | (((high >> 6) & 3) << 4))) - 32
                out[l] = d * Float(sc.load(fromByteOffset: i, as: Int8.self)) * Float(q1)
                out[l + 32] = d * Float(sc.load(fromByteOffset: i + 2, as: Int8.self)) * Float(q2)
                out[l + 64] = d * Float(sc.load(fromByteOffset: i + 4, as: Int8.self)) * Float(q3)
                out[l + 96] = d * Float(sc.load(fromByteOffset: i + 6, as: Int8.self)) * Float(q4)
            }
        }
    }
}
