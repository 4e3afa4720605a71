/// The 4-bit non-linear types IQ4_NL and IQ4_XS, after `dequantize_row_iq4_nl` / `_iq4_xs` in
/// `ggml-quants.c`: each nibble indexes a fixed 16-entry codebook instead of being a linear level.
extension GGUFDequantizer {
    /// `kvalues_iq4nl`: the codebook both types share.
    static let iq4Codebook: [Float] = [-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113]

    /// IQ4_NL: blocks of 32, f16 d, 16 bytes of nibbles; low nibble j → element j, high → j + 16;
    /// x = d·codebook[q].
    static func iq4_nl(_ x: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = half(x, 0)
        iq4Codebook.withUnsafeBufferPointer { codebook in
            for j in 0..<16 {
                let q = byte(x, 2 + j)
                y[j] = d * codebook[Int(q & 0x0F)]
                y[j + 16] = d * codebook[Int(q >> 4)]
            }
        }
    }

    /// IQ4_XS: super-blocks of 256, f16 d, u16 of high scale bits (2 per sub-block), 4 bytes of
    /// low scale nibbles, 128 bytes of nibbles; 8 sub-blocks of 32 laid out like IQ4_NL's, each
    /// with a 6-bit scale: x = (d·(sc − 32))·codebook[q].
    static func iq4_xs(_ x: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = half(x, 0), scalesHigh = u16(x, 2)
        iq4Codebook.withUnsafeBufferPointer { codebook in
            for j in 0..<8 {
                let low = (byte(x, 4 + j / 2) >> (4 * (j % 2))) & 0x0F
                let high = UInt8(truncatingIfNeeded: scalesHigh >> (2 * j)) & 0x03
                let dl = d * Float(Int(low | (high << 4)) - 32)
                let qs = x + 8 + 16 * j, out = y + 32 * j
                for l in 0..<16 {
                    let q = byte(qs, l)
                    out[l] = dl * codebook[Int(q & 0x0F)]
                    out[l + 16] = dl * codebook[Int(q >> 4)]
                }
            }
        }
    }
}
