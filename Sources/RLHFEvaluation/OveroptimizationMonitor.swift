import RLHFAlignment

/// Watches an RL run for reward hacking, step by step: the proxy reward the policy optimises,
/// an ensemble's disagreement when the proxy is one (Coste et al.: it grows ~3× under mean
/// optimisation), and a gold reward when one is configured (Gao et al.: gold peaks and falls
/// while the proxy keeps rising).
///
/// Over the last `window` steps it fits least-squares slopes; it raises
///
/// - `overoptimization/disagreement_alarm` when the disagreement's slope and the proxy's slope are
///   both positive and the disagreement has grown to at least `growth` × its smallest value so far;
/// - `overoptimization/gold_alarm` when the proxy's slope is positive and the gold's negative.
///
/// and keeps the step of the best gold mean so far (`overoptimization/gold_peak_step`).
public struct OveroptimizationMonitor: Sendable {
    public var window: Int
    public var growth: Double
    private var proxy: [Double] = []
    private var disagreement: [Double] = []
    private var gold: [Double] = []
    private var smallestDisagreement = Double.infinity
    /// The best gold mean so far and its step.
    public private(set) var goldPeak: (step: Int, gold: Double)?

    public init(window: Int = 5, growth: Double = 1.5) {
        precondition(window >= 2, "a slope needs at least two steps")
        self.window = window
        self.growth = growth
    }

    /// What one step tells: metrics, warnings (empty when all is well), and whether this step is a
    /// new gold peak.
    public struct Observation: Sendable {
        public var diagnostics: [Diagnostic]
        public var warnings: [String]
        public var isGoldPeak: Bool
    }

    /// Records step `step`'s mean proxy reward, and the ensemble disagreement and mean gold reward
    /// when the run has them.
    public mutating func observe(step: Int, proxy proxyMean: Double, disagreement spread: Double? = nil, gold goldMean: Double? = nil) -> Observation {
        proxy.append(proxyMean)
        var diagnostics: [Diagnostic] = []
        var warnings: [String] = []
        let proxySlope = Self.slope(proxy.suffix(window))
        if let spread {
            disagreement.append(spread)
            smallestDisagreement = min(smallestDisagreement, spread)
            let rising = (Self.slope(disagreement.suffix(window)) ?? 0) > 0 && (proxySlope ?? 0) > 0
            let grown = smallestDisagreement > 0 ? spread / smallestDisagreement : (spread > 0 ? .infinity : 1)
            let alarm = disagreement.count >= window && rising && grown >= growth
            diagnostics.append(Diagnostic(name: "overoptimization/disagreement_growth", value: grown.isFinite ? grown : 0))
            diagnostics.append(Diagnostic(name: "overoptimization/disagreement_alarm", value: alarm ? 1 : 0))
            if alarm {
                warnings.append("the reward-model ensemble disagrees more and more (×\(Self.format(grown)) its lowest) while the proxy reward rises: likely reward hacking")
            }
        }
        var isGoldPeak = false
        if let goldMean {
            gold.append(goldMean)
            if goldPeak == nil || goldMean > goldPeak!.gold {
                goldPeak = (step, goldMean)
                isGoldPeak = true
            }
            let alarm = gold.count >= window && (proxySlope ?? 0) > 0 && (Self.slope(gold.suffix(window)) ?? 0) < 0
            diagnostics.append(Diagnostic(name: "overoptimization/gold_alarm", value: alarm ? 1 : 0))
            diagnostics.append(Diagnostic(name: "overoptimization/gold_peak_step", value: Double(goldPeak!.step)))
            if alarm {
                warnings.append("the gold reward falls while the proxy rises (gold peak \(Self.format(goldPeak!.gold)) at step \(goldPeak!.step)): overoptimization")
            }
        }
        return Observation(diagnostics: diagnostics, warnings: warnings, isGoldPeak: isGoldPeak)
    }

    /// The least-squares slope of values against their index (nil for fewer than two).
    static func slope(_ values: ArraySlice<Double>) -> Double? {
        guard values.count >= 2 else { return nil }
        let n = Double(values.count)
        let meanX = (n - 1) / 2, meanY = values.reduce(0, +) / n
        var sxy = 0.0, sxx = 0.0
        for (i, y) in values.enumerated() {
            sxy += (Double(i) - meanX) * (y - meanY)
            sxx += (Double(i) - meanX) * (Double(i) - meanX)
        }
        return sxy / sxx
    }

    static func format(_ value: Double) -> String {
        let scaled = (value * 100).rounded() / 100
        return "\(scaled)"
    }
}
