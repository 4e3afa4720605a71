/// Summary statistics over Double arrays, for metrics and evaluation reports.
///
/// ```swift
/// Statistics.meanAndStandardDeviation([1, 2, 3, 4])   // (2.5, 1.118…): population std
/// Statistics.pearsonCorrelation([1, 2, 3], [2, 4, 6]) // 1
/// ```
public enum Statistics {
    /// The mean and the **population** standard deviation sqrt((1/N) Σ (x_i − x̄)²) (ddof = 0,
    /// `np.std`'s default; `torch.std` divides by N − 1). Two passes, for accuracy.
    ///
    /// - Precondition: at least one value.
    public static func meanAndStandardDeviation(_ values: [Double]) -> (mean: Double, standardDeviation: Double) {
        precondition(!values.isEmpty, "Statistics.meanAndStandardDeviation: no values")
        let N = Double(values.count)
        let mean = values.reduce(0, +) / N
        var sumOfSquares = 0.0
        for x in values { sumOfSquares += (x - mean) * (x - mean) }
        return (mean, (sumOfSquares / N).squareRoot())
    }

    /// The mean and the variance (1/N) Σ (x_i − x̄)² (`.population`, ddof = 0) or
    /// (1/(N − 1)) Σ (x_i − x̄)² (`.sample`, Bessel-corrected, `torch.var`'s default). Two passes.
    ///
    /// ```swift
    /// Statistics.meanAndVariance([0, 1, 2, 3, 4], convention: .sample)   // (2, 2.5)
    /// ```
    ///
    /// - Precondition: at least one value; at least two for `.sample`.
    public static func meanAndVariance(
        _ values: [Double], convention: VarianceConvention
    ) -> (mean: Double, variance: Double) {
        let minimum = convention == .sample ? 2 : 1
        precondition(values.count >= minimum,
                     "Statistics.meanAndVariance: \(values.count) values, the \(convention) variance needs at least \(minimum)")
        let N = Double(values.count)
        let mean = values.reduce(0, +) / N
        var sumOfSquares = 0.0
        for x in values { sumOfSquares += (x - mean) * (x - mean) }
        return (mean, sumOfSquares / (convention == .sample ? N - 1 : N))
    }

    /// Pearson's r = Σ (x_i − x̄)(y_i − ȳ) / sqrt(Σ (x_i − x̄)² · Σ (y_i − ȳ)²), clamped to
    /// [−1, 1] against rounding; nil when either variable is constant (all values equal, so r
    /// is undefined).
    ///
    /// Used for proxy-versus-gold reward agreement and ensemble-member agreement.
    ///
    /// - Precondition: equal, non-zero counts.
    public static func pearsonCorrelation(_ x: [Double], _ y: [Double]) -> Double? {
        precondition(!x.isEmpty, "Statistics.pearsonCorrelation: no values")
        precondition(x.count == y.count, "Statistics.pearsonCorrelation: \(x.count) vs \(y.count) values")
        guard x.contains(where: { $0 != x[0] }), y.contains(where: { $0 != y[0] }) else { return nil }
        let N = Double(x.count)
        let meanX = x.reduce(0, +) / N, meanY = y.reduce(0, +) / N
        var covariance = 0.0, varianceX = 0.0, varianceY = 0.0
        for i in x.indices {
            let dx = x[i] - meanX, dy = y[i] - meanY
            covariance += dx * dy
            varianceX += dx * dx
            varianceY += dy * dy
        }
        guard varianceX > 0, varianceY > 0 else { return nil }
        return max(-1, min(1, covariance / (varianceX * varianceY).squareRoot()))
    }
}
