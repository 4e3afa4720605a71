/// IEEE half (float16) and bfloat16 conversions by bit manipulation (no dependence on the
/// `Float16` type, which some x86 targets lack).
///
/// Half → float is exact. Float → half rounds to nearest, ties to even, overflows to ±infinity,
/// produces subnormals and signed zeros, and keeps NaN a NaN (quiet, with the top payload bits).
public enum HalfPrecision {
    // MARK: Scalars

    /// The float value of a float16 bit pattern (exact).
    @inlinable
    public static func float(fromFloat16Bits h: UInt16) -> Float {
        Float(bitPattern: float32Bits(fromFloat16Bits: h))
    }

    /// The float32 bit pattern of a float16 bit pattern, without branches (so loops vectorize).
    ///
    /// The exponent is rebiased by adding 112 << 23; infinities and NaNs get another 112 << 23
    /// (exponent 31 → 255); subnormals are renormalised by one float subtraction:
    /// 2^-14 · (1 + m/1024) − 2^-14 = m · 2^-24.
    @inlinable @inline(__always)
    public static func float32Bits(fromFloat16Bits h: UInt16) -> UInt32 {
        let shiftedExponent: UInt32 = 0x7C00 << 13
        let sign = UInt32(h & 0x8000) << 16
        var magnitude = UInt32(h & 0x7FFF) << 13
        let exponent = magnitude & shiftedExponent
        magnitude &+= (127 - 15) << 23
        magnitude &+= exponent == shiftedExponent ? (128 - 16) << 23 : 0
        let subnormal = exponent == 0
        magnitude &+= subnormal ? 1 << 23 : 0
        let renormalised = (Float(bitPattern: magnitude) - Float(bitPattern: 113 << 23)).bitPattern
        return (subnormal ? renormalised : magnitude) | sign
    }

    /// The float16 bit pattern nearest to `value` (round to nearest even; NaN stays NaN).
    @inlinable
    public static func float16Bits(from value: Float) -> UInt16 {
        let bits = value.bitPattern
        let sign = UInt16(truncatingIfNeeded: (bits >> 16) & 0x8000)
        let magnitude = bits & 0x7FFF_FFFF
        if magnitude >= 0x7F80_0000 {  // inf or NaN
            guard magnitude > 0x7F80_0000 else { return sign | 0x7C00 }
            // Quiet NaN keeping the top 9 payload bits.
            return sign | 0x7E00 | UInt16(truncatingIfNeeded: (magnitude >> 13) & 0x1FF)
        }
        if magnitude >= 0x4780_0000 { return sign | 0x7C00 }  // ≥ 65536 rounds to inf
        if magnitude < 0x3880_0000 {  // below 2^-14, the smallest normal half: subnormal or zero
            // value / 2^-24 is exact (a power-of-two scaling) and < 1024; rounding it to an
            // integer is the correctly rounded subnormal mantissa (1024 becomes the smallest normal).
            let scaled = Float(bitPattern: magnitude) * 16_777_216
            return sign | UInt16(scaled.rounded(.toNearestOrEven))
        }
        // Normal: rebias the exponent and round the 13 dropped mantissa bits to nearest even. A
        // carry out of the mantissa correctly bumps the exponent (65520 ≤ |x| < 65536 → inf).
        var result = (magnitude >> 13) &- ((127 - 15) << 10)
        let dropped = magnitude & 0x1FFF
        if dropped > 0x1000 || (dropped == 0x1000 && (result & 1) == 1) { result += 1 }
        return sign | UInt16(truncatingIfNeeded: result)
    }

    /// The float value of a bfloat16 bit pattern (exact: the high half of a float32).
    @inlinable
    public static func float(fromBFloat16Bits b: UInt16) -> Float { Float(bitPattern: UInt32(b) << 16) }

    /// The bfloat16 bit pattern nearest to `value` (round to nearest even; NaN stays NaN).
    @inlinable
    public static func bfloat16Bits(from value: Float) -> UInt16 {
        let bits = value.bitPattern
        // Truncating a NaN could clear every remaining mantissa bit (giving infinity): set the quiet bit.
        if value.isNaN { return UInt16(truncatingIfNeeded: bits >> 16) | 0x40 }
        let rounding = 0x7FFF + ((bits >> 16) & 1)
        return UInt16(truncatingIfNeeded: (bits &+ rounding) >> 16)
    }

    // MARK: Bulk conversions

    /// Converts `count` little-endian float16 values at `source` (any alignment) into floats.
    public static func convertFloat16(_ source: UnsafeRawPointer, into destination: UnsafeMutablePointer<Float>, count: Int) {
        let output = UnsafeMutableRawPointer(destination)
        for i in 0..<max(0, count) {
            let bits = UInt16(littleEndian: source.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))
            output.storeBytes(of: float32Bits(fromFloat16Bits: bits), toByteOffset: 4 * i, as: UInt32.self)
        }
    }

    /// Converts `count` little-endian bfloat16 values at `source` (any alignment) into floats.
    public static func convertBFloat16(_ source: UnsafeRawPointer, into destination: UnsafeMutablePointer<Float>, count: Int) {
        let output = UnsafeMutableRawPointer(destination)
        for i in 0..<max(0, count) {
            let bits = UInt16(littleEndian: source.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))
            output.storeBytes(of: UInt32(bits) << 16, toByteOffset: 4 * i, as: UInt32.self)
        }
    }

    /// Converts `count` floats into little-endian float16 values at `destination` (any alignment).
    public static func convertToFloat16(_ source: UnsafePointer<Float>, into destination: UnsafeMutableRawPointer, count: Int) {
        for i in 0..<max(0, count) {
            destination.storeBytes(of: float16Bits(from: source[i]).littleEndian, toByteOffset: 2 * i, as: UInt16.self)
        }
    }

    /// Converts `count` floats into little-endian bfloat16 values at `destination` (any alignment).
    public static func convertToBFloat16(_ source: UnsafePointer<Float>, into destination: UnsafeMutableRawPointer, count: Int) {
        for i in 0..<max(0, count) {
            destination.storeBytes(of: bfloat16Bits(from: source[i]).littleEndian, toByteOffset: 2 * i, as: UInt16.self)
        }
    }
}
