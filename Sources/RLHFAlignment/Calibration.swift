/// How well a reward model's preference probabilities match what happens on held-out pairs.
///
/// For a pair, p = σ(r_w − r_l) is the model's probability that the labelled-chosen response is
/// preferred, and the outcome is whether it was (under gold labels, or a fresh annotator).
///
/// ```swift
/// Calibration.brierScore(probabilities: [0.5, 0.5], outcomes: [true, false])   // 0.25
/// Calibration.expectedCalibrationError(probabilities: p, outcomes: o, bins: 10)
/// ```
public enum Calibration {
    /// Expected calibration error in the **probability-versus-frequency** form:
    ///
    ///     ECE = Σ_b (n_b / N) · | mean_{i∈b} p_i − mean_{i∈b} 1[outcome_i] |
    ///
    /// over `bins` equal-width bins of [0, 1]; bin b holds p ∈ [b/B, (b+1)/B), and p = 1 falls in
    /// the last bin. Empty bins contribute nothing. This is not the classifier "confidence" form,
    /// which bins max(p, 1 − p) against the accuracy of the more likely side: here p itself is
    /// compared with how often the outcome is true, so a model that says 0.3 for pairs that win
    /// 30% of the time has zero error.
    ///
    /// - Precondition: equal, non-zero counts; `bins` ≥ 1; every p in [0, 1].
    public static func expectedCalibrationError(probabilities: [Double], outcomes: [Bool], bins: Int = 10) -> Double {
        validate(probabilities, outcomes, "expectedCalibrationError")
        precondition(bins >= 1, "Calibration.expectedCalibrationError: \(bins) bins")
        var count = [Int](repeating: 0, count: bins)
        var probabilitySum = [Double](repeating: 0, count: bins)
        var outcomeSum = [Double](repeating: 0, count: bins)
        for (p, outcome) in zip(probabilities, outcomes) {
            let b = min(Int(p * Double(bins)), bins - 1)
            count[b] += 1
            probabilitySum[b] += p
            if outcome { outcomeSum[b] += 1 }
        }
        var error = 0.0
        for b in 0..<bins where count[b] > 0 {
            let n = Double(count[b])
            error += n * abs(probabilitySum[b] / n - outcomeSum[b] / n)
        }
        return error / Double(probabilities.count)
    }

    /// Brier score: (1/N) Σ_i (p_i − 1[outcome_i])², 0 for perfect certain predictions, 0.25 for
    /// always answering ½.
    ///
    /// - Precondition: equal, non-zero counts; every p in [0, 1].
    public static func brierScore(probabilities: [Double], outcomes: [Bool]) -> Double {
        validate(probabilities, outcomes, "brierScore")
        var total = 0.0
        for (p, outcome) in zip(probabilities, outcomes) {
            let d = p - (outcome ? 1 : 0)
            total += d * d
        }
        return total / Double(probabilities.count)
    }

    private static func validate(_ probabilities: [Double], _ outcomes: [Bool], _ function: String) {
        precondition(!probabilities.isEmpty, "Calibration.\(function): no predictions")
        precondition(probabilities.count == outcomes.count, "Calibration.\(function): \(probabilities.count) probabilities vs \(outcomes.count) outcomes")
        precondition(probabilities.allSatisfy { (0...1).contains($0) }, "Calibration.\(function): a probability outside [0, 1]")
    }
}
