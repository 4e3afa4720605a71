import RLHFTensor
import Testing

@Suite("half precision")
struct HalfPrecisionTests {
    @Test func exactFloat16Values() {
        let cases: [(UInt16, Float)] = [
            (0x0000, 0), (0x3C00, 1), (0xBC00, -1), (0xC000, -2), (0x3800, 0.5), (0x3555, 0.333251953125),
            (0x7BFF, 65504), (0xFBFF, -65504), (0x0400, Float(bitPattern: 0x3880_0000)),  // 2^-14, smallest normal
            (0x0001, Float(bitPattern: 0x3380_0000)),  // 2^-24, smallest subnormal
            (0x03FF, Float(bitPattern: 0x387F_C000)),  // largest subnormal
            (0x7C00, .infinity), (0xFC00, -.infinity),
        ]
        for (bits, value) in cases {
            #expect(HalfPrecision.float(fromFloat16Bits: bits) == value, "0x\(String(bits, radix: 16))")
            #expect(HalfPrecision.float16Bits(from: value) == bits, "\(value)")
        }
        let negativeZero = HalfPrecision.float(fromFloat16Bits: 0x8000)
        #expect(negativeZero == 0 && negativeZero.sign == .minus)
        #expect(HalfPrecision.float16Bits(from: -0.0) == 0x8000)
        #expect(HalfPrecision.float(fromFloat16Bits: 0x7E00).isNaN)
        #expect(HalfPrecision.float(fromFloat16Bits: 0x7C01).isNaN)  // signalling NaN stays NaN
        #expect(HalfPrecision.float(fromFloat16Bits: 0xFE00).isNaN)
    }

    @Test("every float16 bit pattern survives float16 → float → float16")
    func float16RoundTrip() {
        var mismatches = 0
        for raw in 0...0xFFFF {
            let bits = UInt16(raw)
            let value = HalfPrecision.float(fromFloat16Bits: bits)
            let isNaN = (bits & 0x7C00) == 0x7C00 && (bits & 0x3FF) != 0
            if isNaN {
                // NaN payloads may be quieted, but a NaN must stay a NaN with its sign.
                #expect(value.isNaN)
                let back = HalfPrecision.float16Bits(from: value)
                if (back & 0x7C00) != 0x7C00 || (back & 0x3FF) == 0 || (back & 0x8000) != (bits & 0x8000) { mismatches += 1 }
            } else if HalfPrecision.float16Bits(from: value) != bits {
                mismatches += 1
            }
        }
        #expect(mismatches == 0)
    }

    @Test("float16 conversion matches an independent reference on every pattern")
    func float16MatchesReference() {
        // Reference: sign · mantissa · 2^(exponent − 25) computed with Float arithmetic.
        for raw in 0...0xFFFF {
            let bits = UInt16(raw)
            let exponent = Int(bits >> 10) & 0x1F
            let mantissa = Float(bits & 0x3FF)
            guard exponent != 0x1F else { continue }
            var magnitude = exponent == 0 ? mantissa * 0x1p-24 : (1024 + mantissa) * Float(sign: .plus, exponent: exponent - 25, significand: 1)
            if bits & 0x8000 != 0 { magnitude = -magnitude }
            let value = HalfPrecision.float(fromFloat16Bits: bits)
            #expect(value.bitPattern == magnitude.bitPattern, "0x\(String(bits, radix: 16))")
        }
    }

    @Test func float16Rounding() {
        let ulpAtOne: Float = 1.0 / 1024
        #expect(HalfPrecision.float16Bits(from: 1 + ulpAtOne / 2) == 0x3C00)  // tie → even (down)
        #expect(HalfPrecision.float16Bits(from: 1 + 3 * ulpAtOne / 2) == 0x3C02)  // tie → even (up)
        #expect(HalfPrecision.float16Bits(from: (1 + ulpAtOne / 2).nextUp) == 0x3C01)  // just above the tie
        #expect(HalfPrecision.float16Bits(from: (1 + ulpAtOne / 2).nextDown) == 0x3C00)
        #expect(HalfPrecision.float16Bits(from: 65504) == 0x7BFF)
        #expect(HalfPrecision.float16Bits(from: 65519.99) == 0x7BFF)  // below the halfway point to 65536
        #expect(HalfPrecision.float16Bits(from: 65520) == 0x7C00)  // the tie rounds to even: infinity
        #expect(HalfPrecision.float16Bits(from: 70000) == 0x7C00)
        #expect(HalfPrecision.float16Bits(from: -1e30) == 0xFC00)
        #expect(HalfPrecision.float16Bits(from: .infinity) == 0x7C00)
        // Subnormals: 2^-25 is halfway between 0 and 2^-24 → even (0); just above → 2^-24.
        #expect(HalfPrecision.float16Bits(from: 0x1p-25) == 0x0000)
        #expect(HalfPrecision.float16Bits(from: (0x1p-25 as Float).nextUp) == 0x0001)
        #expect(HalfPrecision.float16Bits(from: 3 * 0x1p-25) == 0x0002)  // 1.5 ulp → even (2)
        #expect(HalfPrecision.float16Bits(from: -0x1p-30) == 0x8000)  // underflow keeps the sign
        #expect(HalfPrecision.float16Bits(from: .leastNonzeroMagnitude) == 0x0000)
        // The largest subnormal rounding up into the smallest normal.
        #expect(HalfPrecision.float16Bits(from: (0x1p-14 as Float).nextDown) == 0x0400)
        // NaN stays NaN (quiet) with its sign.
        let nan = HalfPrecision.float16Bits(from: .nan)
        #expect(nan & 0x7E00 == 0x7E00)
        let signallingWithLowPayload = Float(bitPattern: 0xFF80_0001)  // payload lost by truncation
        let converted = HalfPrecision.float16Bits(from: signallingWithLowPayload)
        #expect(converted & 0xFE00 == 0xFE00)
        // Exhaustive check against exact rounding for floats between adjacent halves.
        var generator = SeededLCG(state: 7)
        for _ in 0..<20_000 {
            let bits = UInt16(generator.next() % 0x7BFF)  // finite, positive, not the largest
            let low = HalfPrecision.float(fromFloat16Bits: bits)
            let high = HalfPrecision.float(fromFloat16Bits: bits + 1)
            let t = Float(generator.next() % 1000) / 1000
            let x = low + (high - low) * t
            let expected: UInt16 = (x - low < high - x) ? bits : (x - low > high - x ? bits + 1 : (bits & 1 == 0 ? bits : bits + 1))
            #expect(HalfPrecision.float16Bits(from: x) == expected, "\(x) between 0x\(String(bits, radix: 16)) and the next")
        }
    }

    @Test func bfloat16() {
        #expect(HalfPrecision.float(fromBFloat16Bits: 0x3F80) == 1)
        #expect(HalfPrecision.float(fromBFloat16Bits: 0xC000) == -2)
        #expect(HalfPrecision.float(fromBFloat16Bits: 0x7F80) == .infinity)
        #expect(HalfPrecision.float(fromBFloat16Bits: 0x0001) == Float(bitPattern: 0x0001_0000))  // subnormal
        #expect(HalfPrecision.bfloat16Bits(from: 1) == 0x3F80)
        #expect(HalfPrecision.bfloat16Bits(from: 1.00390625) == 0x3F80)  // tie → even (down)
        #expect(HalfPrecision.bfloat16Bits(from: 1.01171875) == 0x3F82)  // tie → even (up)
        #expect(HalfPrecision.bfloat16Bits(from: Float(bitPattern: 0x3F80_8001)) == 0x3F81)  // above the tie
        #expect(HalfPrecision.bfloat16Bits(from: .greatestFiniteMagnitude) == 0x7F80)  // rounds to infinity
        #expect(HalfPrecision.bfloat16Bits(from: -.infinity) == 0xFF80)
        #expect(HalfPrecision.bfloat16Bits(from: .nan) & 0x7FC0 == 0x7FC0)
        // A NaN whose payload lies only in the dropped bits must not become infinity.
        let lowPayloadNaN = Float(bitPattern: 0x7F80_0001)
        #expect(lowPayloadNaN.isNaN)
        #expect(HalfPrecision.float(fromBFloat16Bits: HalfPrecision.bfloat16Bits(from: lowPayloadNaN)).isNaN)
        // Every non-NaN bfloat16 pattern round-trips.
        for raw in 0...0xFFFF {
            let bits = UInt16(raw)
            let value = HalfPrecision.float(fromBFloat16Bits: bits)
            if value.isNaN {
                #expect(HalfPrecision.float(fromBFloat16Bits: HalfPrecision.bfloat16Bits(from: value)).isNaN)
            } else {
                #expect(HalfPrecision.bfloat16Bits(from: value) == bits)
            }
        }
    }

    @Test("bulk conversions match the scalar ones, from unaligned little-endian bytes")
    func bulkConversions() throws {
        let count = 65536
        // One leading byte so the halfs are misaligned.
        var raw = [UInt8](repeating: 0, count: 1 + 2 * count)
        for i in 0..<count {
            raw[1 + 2 * i] = UInt8(i & 0xFF)  // little-endian: low byte first
            raw[2 + 2 * i] = UInt8(i >> 8)
        }
        var halfs = [Float](repeating: 0, count: count)
        var brains = [Float](repeating: 0, count: count)
        try raw.withUnsafeBytes { bytes in
            let source = try #require(bytes.baseAddress) + 1
            try halfs.withUnsafeMutableBufferPointer { out in
                HalfPrecision.convertFloat16(source, into: try #require(out.baseAddress), count: count)
            }
            try brains.withUnsafeMutableBufferPointer { out in
                HalfPrecision.convertBFloat16(source, into: try #require(out.baseAddress), count: count)
            }
        }
        for i in 0..<count {
            #expect(halfs[i].bitPattern == HalfPrecision.float(fromFloat16Bits: UInt16(i)).bitPattern)
            #expect(brains[i].bitPattern == HalfPrecision.float(fromBFloat16Bits: UInt16(i)).bitPattern)
        }
        // Back to halfs (unaligned destination); NaNs excluded since payloads may be quieted.
        let finite = halfs.filter { !$0.isNaN }
        var back = [UInt8](repeating: 0, count: 1 + 2 * finite.count)
        var backBF = [UInt8](repeating: 0, count: 1 + 2 * finite.count)
        try finite.withUnsafeBufferPointer { source in
            let input = try #require(source.baseAddress)
            try back.withUnsafeMutableBytes {
                HalfPrecision.convertToFloat16(input, into: try #require($0.baseAddress) + 1, count: finite.count)
            }
            try backBF.withUnsafeMutableBytes {
                HalfPrecision.convertToBFloat16(input, into: try #require($0.baseAddress) + 1, count: finite.count)
            }
        }
        for (i, value) in finite.enumerated() {
            let bits = UInt16(back[1 + 2 * i]) | UInt16(back[2 + 2 * i]) << 8
            #expect(bits == HalfPrecision.float16Bits(from: value))
            let bfBits = UInt16(backBF[1 + 2 * i]) | UInt16(backBF[2 + 2 * i]) << 8
            #expect(bfBits == HalfPrecision.bfloat16Bits(from: value))
        }
    }
}

/// A tiny deterministic generator for test inputs.
struct SeededLCG {
    var state: UInt64
    mutating func next() -> UInt64 {
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return state >> 16
    }
}
