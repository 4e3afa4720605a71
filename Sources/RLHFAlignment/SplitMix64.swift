/// SplitMix64 (Steele, Lea, Flood 2014; Vigna's reference `splitmix64.c`): a 64-bit counter
/// advanced by the golden-ratio increment and passed through a two-multiply finaliser.
///
///     state ← state + 0x9E3779B97F4A7C15
///     z ← (state ⊕ (state ≫ 30)) · 0xBF58476D1CE4E5B9
///     z ← (z ⊕ (z ≫ 27)) · 0x94D049BB133111EB
///     output z ⊕ (z ≫ 31)
///
/// Small, fast, and with its whole state in one word, it is what this dependency-free module uses
/// wherever it needs reproducible randomness (label-noise flips). The stream is fixed by the
/// seed on every platform and Swift version: `nextIndex(below:)` and `nextUniform()` are
/// written out here rather than left to the standard library's unspecified algorithms.
///
/// ```swift
/// var generator = SplitMix64(seed: 0)
/// generator.next()   // 0xE220A8397B1DCDAF, as splitmix64.c with x = 0
/// ```
public struct SplitMix64: RandomNumberGenerator, Sendable, Codable, Equatable {
    /// The counter; saving and restoring it reproduces the stream.
    public var state: UInt64

    /// A generator whose counter starts at `seed`.
    public init(seed: UInt64) {
        state = seed
    }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniform integer in 0..<`bound`, without modulo bias (Lemire's multiply-and-reject).
    ///
    /// - Precondition: `bound` > 0.
    public mutating func nextIndex(below bound: Int) -> Int {
        precondition(bound > 0, "SplitMix64.nextIndex: bound \(bound) must be positive")
        let range = UInt64(bound)
        var product = next().multipliedFullWidth(by: range)
        if product.low < range {
            let threshold = (0 &- range) % range   // 2^64 mod range
            while product.low < threshold {
                product = next().multipliedFullWidth(by: range)
            }
        }
        return Int(product.high)
    }

    /// A uniform Double in [0, 1) from the top 53 bits.
    public mutating func nextUniform() -> Double {
        Double(next() >> 11) * 0x1p-53
    }
}
