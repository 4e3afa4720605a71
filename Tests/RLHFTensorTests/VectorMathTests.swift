import Foundation
import RLHFTensor
import Testing

@Suite("Vector math and RNG")
struct VectorMathTests {
    @Test func expMatchesLibmAcrossTheRange() {
        var worst: Float = 0
        var x: Float = -87
        while x < 88 {
            let ours = VectorMath.exp(x), libm = Foundation.exp(x)
            worst = max(worst, abs(ours - libm) / libm)
            x += 0.0137
        }
        #expect(worst < 3e-7, "worst relative error \(worst)")
        #expect(VectorMath.exp(-100) == 0)
        #expect(VectorMath.exp(-Float.infinity) == 0)
        #expect(VectorMath.exp(0) == 1)
    }

    @Test func reductions() {
        let values: [Float] = (0..<37).map { Float($0) * 0.25 - 3 }
        values.withUnsafeBufferPointer { v in
            let p = v.baseAddress!
            #expect(VectorMath.maximum(p, count: 37) == 6)
            let expected = Foundation.log(values.reduce(0.0) { $0 + Foundation.exp(Double($1)) })
            #expect(abs(Double(VectorMath.logSumExp(p, count: 37)) - expected) < 1e-5)
            #expect(VectorMath.dot(p, p, count: 37) == values.reduce(0) { $0 + $1 * $1 })
        }
    }

    @Test func generatorStateRoundTrips() throws {
        var generator = SeededGenerator(seed: 7)
        for _ in 0..<5 { _ = generator.next() }
        var copy = try #require(SeededGenerator(state: generator.state))
        #expect((0..<10).map { _ in generator.next() } == (0..<10).map { _ in copy.next() })
        let data = try JSONEncoder().encode(generator)
        var decoded = try JSONDecoder().decode(SeededGenerator.self, from: data)
        #expect(decoded.next() == generator.next())
        #expect(SeededGenerator(state: [0, 0, 0, 0]) == nil)
        var gaussian = SeededGenerator(seed: 1)
        let samples = (0..<20_000).map { _ in Double(gaussian.nextGaussian()) }
        let mean = samples.reduce(0, +) / 20_000
        let variance = samples.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / 20_000
        #expect(abs(mean) < 0.03 && abs(variance - 1) < 0.05)
    }

    @Test func halfPrecisionConversions() {
        #expect(HalfPrecision.float(fromFloat16Bits: 0x3C00) == 1)
        #expect(HalfPrecision.float(fromFloat16Bits: 0xC000) == -2)
        #expect(HalfPrecision.float(fromFloat16Bits: 0x7BFF) == 65504)
        #expect(HalfPrecision.float(fromFloat16Bits: 0x0001) == Float(bitPattern: 0x3380_0000))  // 2^-24
        #expect(HalfPrecision.float(fromFloat16Bits: 0x7C00) == .infinity)
        #expect(HalfPrecision.float(fromFloat16Bits: 0x7E00).isNaN)
        // Every finite half survives float → half.
        for bits in UInt16.min...UInt16.max where (bits & 0x7C00) != 0x7C00 {
            let value = HalfPrecision.float(fromFloat16Bits: bits)
            #expect(HalfPrecision.float16Bits(from: value) == bits || (value == 0 && (bits & 0x7FFF) == 0))
        }
        #expect(HalfPrecision.float16Bits(from: 1 + 1.0 / 2048) == 0x3C00)  // tie → even
        #expect(HalfPrecision.float16Bits(from: 1 + 3.0 / 2048) == 0x3C02)  // tie → even (up)
        #expect(HalfPrecision.float16Bits(from: 70000) == 0x7C00)
        #expect(HalfPrecision.float(fromBFloat16Bits: 0x3F80) == 1)
        #expect(HalfPrecision.bfloat16Bits(from: 1.00390625) == 0x3F80)  // tie → even
        #expect(HalfPrecision.bfloat16Bits(from: .nan) & 0x7FC0 == 0x7FC0)
    }
}
