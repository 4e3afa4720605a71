import RLHFAlignment

/// Central finite differences in Double for the pure functions of `RLHFAlignment`.
enum DoubleFiniteDifference {
    /// (f(x + h·e_i) − f(x − h·e_i)) / 2h.
    static func partial(at x: [Double], index i: Int, step h: Double = 1e-6, of f: ([Double]) -> Double) -> Double {
        var plus = x, minus = x
        plus[i] += h
        minus[i] -= h
        return (f(plus) - f(minus)) / (2 * h)
    }

    /// (f(x + h) − f(x − h)) / 2h.
    static func derivative(at x: Double, step h: Double = 1e-6, of f: (Double) -> Double) -> Double {
        (f(x + h) - f(x - h)) / (2 * h)
    }
}

/// Seeded test data: `count` values uniform in [low, high).
func uniformValues(_ count: Int, seed: UInt64, in range: ClosedRange<Double> = -2...2) -> [Double] {
    var generator = SplitMix64(seed: seed)
    return (0..<count).map { _ in range.lowerBound + (range.upperBound - range.lowerBound) * generator.nextUniform() }
}

/// |a − b| ≤ tolerance · max(1, |b|).
func isClose(_ a: Double, _ b: Double, tolerance: Double = 1e-12) -> Bool {
    abs(a - b) <= tolerance * max(1, abs(b))
}
