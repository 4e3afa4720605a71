/// Synthetic label noise for preference data: flip exactly ⌊εN⌉ of N pairs (alignment-losses.md
/// §1 and §11 item 12), chosen by a seeded generator so that a run is reproducible.
///
/// Flipping pair i means swapping its chosen and rejected responses. A fixed count rather than
/// N independent coin flips makes the noise rate exact on small sets (the §10 testbed uses
/// 25% noise on a few hundred pairs).
///
/// ```swift
/// LabelNoise.flippedIndices(count: 8, rate: 0.25, seed: 7)   // two sorted indices in 0..<8
/// ```
public enum LabelNoise {
    /// The number of flipped pairs, ⌊ε·N⌉: ε·N rounded to the nearest integer, **ties to even**
    /// (Python's `round` and `numpy.round`), so 0.25 × 10 = 2.5 → 2 and 0.25 × 14 = 3.5 → 4.
    ///
    /// - Precondition: `count` ≥ 0 and 0 ≤ `rate` ≤ 1.
    public static func flipCount(count: Int, rate: Double) -> Int {
        precondition(count >= 0, "LabelNoise: negative count \(count)")
        precondition((0...1).contains(rate), "LabelNoise: rate \(rate) outside [0, 1]")
        return Int((rate * Double(count)).rounded(.toNearestOrEven))
    }

    /// The indices, in increasing order, of the `flipCount(count:rate:)` pairs to flip out of
    /// `count`, drawn uniformly without replacement.
    ///
    /// The draw is a partial Fisher–Yates shuffle of 0..<count driven by `SplitMix64(seed:)`:
    /// the same (count, rate, seed) always gives the same indices, on every platform.
    ///
    /// - Precondition: `count` ≥ 0 and 0 ≤ `rate` ≤ 1.
    public static func flippedIndices(count: Int, rate: Double, seed: UInt64) -> [Int] {
        let k = flipCount(count: count, rate: rate)
        var generator = SplitMix64(seed: seed)
        var indices = Array(0..<count)
        for i in 0..<k {
            let j = i + generator.nextIndex(below: count - i)
            indices.swapAt(i, j)
        }
        return indices[0..<k].sorted()
    }
}
