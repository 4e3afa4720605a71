/// A small, fast, seedable random number generator (xoshiro256**) whose whole state can be saved
/// and restored, so training runs resume exactly.
public struct SeededGenerator: RandomNumberGenerator, Codable, Sendable, Equatable {
    /// The four 64-bit state words. Saving and restoring them reproduces the stream exactly.
    public private(set) var state: [UInt64]

    /// Seeds the state from one integer through SplitMix64 (as the xoshiro authors recommend).
    public init(seed: UInt64) {
        var mix = seed
        var words = [UInt64]()
        for _ in 0..<4 {
            mix &+= 0x9E37_79B9_7F4A_7C15
            var z = mix
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            words.append(z ^ (z >> 31))
        }
        state = words
    }

    /// Restores a saved state. Returns nil unless there are exactly four words, not all zero.
    public init?(state: [UInt64]) {
        guard state.count == 4, state.contains(where: { $0 != 0 }) else { return nil }
        self.state = state
    }

    @inline(__always)
    private static func rotateLeft(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        let result = Self.rotateLeft(state[1] &* 5, 7) &* 9
        let t = state[1] << 17
        state[2] ^= state[0]
        state[3] ^= state[1]
        state[1] ^= state[2]
        state[0] ^= state[3]
        state[2] ^= t
        state[3] = Self.rotateLeft(state[3], 45)
        return result
    }

    /// A uniform float in [0, 1) with 24 random bits.
    public mutating func nextUniform() -> Float {
        Float(next() >> 40) * (1.0 / 16_777_216.0)
    }

    /// A standard normal sample (Box–Muller in Double).
    public mutating func nextGaussian() -> Float {
        let u1 = (Double(next() >> 11) + 1) * (1.0 / 9_007_199_254_740_993.0)
        let u2 = Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0)
        return Float((-2 * _math_log(u1)).squareRoot() * _math_cos(2 * Double.pi * u2))
    }

    /// Fills `count` floats at `destination` with N(0, standardDeviation²) samples.
    public mutating func fillGaussian(_ destination: UnsafeMutablePointer<Float>, count: Int, standardDeviation: Float) {
        // Box–Muller yields two independent normals per pair of uniforms; use both.
        var i = 0
        while i + 1 < count {
            let u1 = (Double(next() >> 11) + 1) * (1.0 / 9_007_199_254_740_993.0)
            let angle = 2 * Double.pi * Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0)
            let radius = (-2 * _math_log(u1)).squareRoot()
            destination[i] = standardDeviation * Float(radius * _math_cos(angle))
            destination[i + 1] = standardDeviation * Float(radius * _math_sin(angle))
            i += 2
        }
        if i < count { destination[i] = standardDeviation * nextGaussian() }
    }
}

#if canImport(Glibc)
import Glibc
@inlinable @inline(__always) func _math_cos(_ x: Double) -> Double { Glibc.cos(x) }
@inlinable @inline(__always) func _math_sin(_ x: Double) -> Double { Glibc.sin(x) }
#elseif canImport(Darwin)
import Darwin
@inlinable @inline(__always) func _math_cos(_ x: Double) -> Double { Darwin.cos(x) }
@inlinable @inline(__always) func _math_sin(_ x: Double) -> Double { Darwin.sin(x) }
#endif
