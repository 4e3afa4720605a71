/// IEEE half (float16) and bfloat16 conversions by bit manipulation (no dependence on the
/// `Float16` type, which some x86 targets lack).
public enum HalfPrecision {
    /// The float value of a float16 bit pattern (exact).
    @inlinable
    public static func float(fromFloat16Bits h: UInt16) -> Float {
        let sign = UInt32(h & 0x8000) << 16
        let exponent = Int(h >> 10) & 0x1F
        let mantissa = UInt32(h & 0x3FF)
        if exponent == 0x1F {  // inf / NaN
            return Float(bitPattern: sign | 0x7F80_0000 | (mantissa << 13))
        }
        if exponent == 0 {
            if mantissa == 0 { return Float(bitPattern: sign) }
            // Subnormal: mantissa · 2^-24.
            let value = Float(mantissa) * (1.0 / 16_777_216.0)
            return sign != 0 ? -value : value
        }
        return Float(bitPattern: sign | UInt32(exponent - 15 + 127) << 23 | (mantissa << 13))
    }

    /// The float16 bit pattern nearest to `value` (round to nearest even; NaN stays NaN).
    public static func float16Bits(from value: Float) -> UInt16 {
        let bits = value.bitPattern
        let sign = UInt16((bits >> 16) & 0x8000)
        let magnitude = bits & 0x7FFF_FFFF
        if magnitude >= 0x7F80_0000 {  // inf or NaN
            return sign | 0x7C00 | (magnitude > 0x7F80_0000 ? 0x200 | UInt16((magnitude >> 13) & 0x3FF) : 0)
        }
        if magnitude >= 0x4780_0000 { return sign | 0x7C00 }  // ≥ 65536 rounds to inf
        if magnitude < 0x3880_0000 {  // below the smallest normal half (2^-14): subnormal or zero
            let scaled = Float(bitPattern: magnitude) * 16_777_216  // value / 2^-24
            let rounded = scaled.rounded(.toNearestOrEven)
            return sign | UInt16(rounded)
        }
        // Normal: rebias the exponent and round the 13 dropped mantissa bits to nearest even.
        var result = (magnitude >> 13) &- ((127 - 15) << 10)
        let dropped = magnitude & 0x1FFF
        if dropped > 0x1000 || (dropped == 0x1000 && (result & 1) == 1) { result += 1 }
        return sign | UInt16(result)
    }

    /// The float value of a bfloat16 bit pattern (exact: the high half of a float32).
    @inlinable
    public static func float(fromBFloat16Bits b: UInt16) -> Float { Float(bitPattern: UInt32(b) << 16) }

    /// The bfloat16 bit pattern nearest to `value` (round to nearest even; NaN stays NaN).
    public static func bfloat16Bits(from value: Float) -> UInt16 {
        let bits = value.bitPattern
        if value.isNaN { return UInt16(bits >> 16) | 0x40 }
        let rounding = 0x7FFF + ((bits >> 16) & 1)
        return UInt16((bits &+ rounding) >> 16)
    }

    /// Converts `count` little-endian float16 values at `source` into floats.
    public static func convertFloat16(_ source: UnsafeRawPointer, into destination: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count {
            destination[i] = float(fromFloat16Bits: UInt16(littleEndian: source.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))
        }
    }

    /// Converts `count` little-endian bfloat16 values at `source` into floats.
    public static func convertBFloat16(_ source: UnsafeRawPointer, into destination: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count {
            destination[i] = float(fromBFloat16Bits: UInt16(littleEndian: source.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))
        }
    }
}
