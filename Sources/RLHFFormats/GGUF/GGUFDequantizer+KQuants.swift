/// The low-bit k-quants (Q2_K, Q3_K) and Q8_K, after `dequantize_row_q2_K` / `_q3_K` / `_q8_K`
/// in `ggml-quants.c`: 256-element super-blocks of 16 sub-blocks of 16, scales as small integers
/// times a float16 super-block scale.
extension GGUFDequantizer {
    /// Q2_K: 16 scale bytes (low nibble scale, high nibble min), 64 bytes of 2-bit values, f16 d,
    /// f16 dmin. Element e = 128·h + 32·s + l is bits 2s…2s+1 of byte 32·h + l; its sub-block is
    /// e / 16: x = (d·sc)·q − dmin·m.
    static func q2_K(_ x: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = half(x, 80), dmin = half(x, 82)
        let scales = x, qs = x + 16
        for half in 0..<2 {
            for shift in 0..<4 {
                for group in 0..<2 {  // the two sub-blocks of 16 in this run of 32
                    let e0 = 128 * half + 32 * shift + 16 * group
                    let sc = byte(scales, e0 / 16)
                    let dl = d * Float(sc & 0x0F), ml = dmin * Float(sc >> 4)
                    for l in 0..<16 {
                        let q = (byte(qs, 32 * half + 16 * group + l) >> (2 * shift)) & 3
                        y[e0 + l] = dl * Float(q) - ml
                    }
                }
            }
        }
    }

    /// Q3_K: 32 bytes of high-bit masks, 64 bytes of 2-bit values, 12 bytes of packed 6-bit
    /// scales, f16 d. Element e = 128·h + 32·s + l takes low bits 2s…2s+1 of byte 32·h + l and
    /// high bit e / 32 of mask byte l (set: +0, clear: −4); x = (d·(sc − 32))·q.
    static func q3_K(_ x: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let hmask = x, qs = x + 32, packed = x + 96
        let d = half(x, 108)
        for j in 0..<16 {  // sub-block j of 16 elements
            let low = (j < 8 ? byte(packed, j) : byte(packed, j - 8) >> 4) & 0x0F
            let high = (byte(packed, 8 + j % 4) >> (2 * (j / 4))) & 0x03
            let dl = d * Float(Int(low | (high << 4)) - 32)
            for i in 0..<16 {
                let e = 16 * j + i
                let half = e / 128, shift = (e % 128) / 32, l = e % 32
                let q2 = Int((byte(qs, 32 * half + l) >> (2 * shift)) & 3)
                let h = (byte(hmask, l) >> (e / 32)) & 1
                y[e] = dl * Float(q2 - (h == 0 ? 4 : 0))
            }
        }
    }

    /// Q8_K (what ggml quantizes activations to; rare in files): f32 d, 256 signed bytes, 16
    /// int16 block sums (unused here); x = d·q.
    static func q8_K(_ x: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = Float(bitPattern: UInt32(littleEndian: x.loadUnaligned(fromByteOffset: 0, as: UInt32.self)))
        for j in 0..<256 { y[j] = d * Float(x.load(fromByteOffset: 4 + j, as: Int8.self)) }
    }
}
