import Foundation

/// Gao, Schulman and Hilton's functional forms of gold reward against the distance from the
/// initial policy (alignment-losses.md §7), fitted by no-intercept least squares:
///
///     best-of-n:  R_bon(d) = d · (α − β·d)          columns [d, −d²]
///     RL:         R_RL(d)  = d · (α − β·ln d)       columns [d, −d·ln d]   (d·ln d → 0 at d = 0)
///
/// with d = √KL(π ‖ π_init) (KL in nats per sequence) and R(0) = 0 (gold recentred so that the
/// initial policy scores 0). Peaks: best-of-n at d* = α/(2β), R* = α²/(4β); RL at
/// d* = e^{α/β − 1}, R* = β·d*, back to 0 at d = e^{α/β}.
///
/// ```swift
/// let fit = GaoScalingLaw.fit(.bestOfN, distances: d, gold: recentredGold)!
/// fit.peakDistance, fit.peakReward   // d* and R*
/// ```
public enum GaoScalingLaw {
    /// Which functional form.
    public enum Form: String, Sendable, Codable, CaseIterable {
        /// d(α − βd): best-of-n sampling.
        case bestOfN = "best_of_n"
        /// d(α − β ln d): RL (PPO and relatives).
        case reinforcement = "rl"
    }

    /// A fitted form with its peak.
    public struct Fit: Sendable, Codable, Equatable {
        public var form: Form
        public var alpha: Double
        public var beta: Double
        /// d*, the distance of the largest predicted gold reward; nil when the fit has no interior
        /// maximum (β ≤ 0: the predicted reward keeps rising).
        public var peakDistance: Double?
        /// R*, the predicted gold reward at d*.
        public var peakReward: Double?
        /// RL only: the distance where the predicted reward returns to 0 (e^{α/β}).
        public var zeroDistance: Double?
        /// 1 − SS_residual / SS_total (about the mean of the gold rewards).
        public var rSquared: Double
        /// Points the fit used.
        public var points: Int
    }

    /// d = √KL for a KL in nats per sequence (negative sample estimates clamp to 0).
    public static func distance(kl: Double) -> Double { kl > 0 ? kl.squareRoot() : 0 }

    /// The form's prediction at distance `d`.
    public static func predict(_ form: Form, alpha: Double, beta: Double, distance d: Double) -> Double {
        let (a, b) = columns(form, d)
        return alpha * a + beta * b
    }

    /// The least-squares fit of `form` to (distance, gold) points, or nil when the two columns
    /// are (numerically) collinear or there are fewer than two points with d > 0.
    /// - Precondition: equal counts, finite values, distances ≥ 0.
    public static func fit(_ form: Form, distances: [Double], gold: [Double]) -> Fit? {
        precondition(distances.count == gold.count, "GaoScalingLaw.fit: \(distances.count) distances for \(gold.count) rewards")
        precondition(distances.allSatisfy { $0 >= 0 && $0.isFinite } && gold.allSatisfy(\.isFinite),
                     "GaoScalingLaw.fit: distances must be finite and ≥ 0, rewards finite")
        guard distances.filter({ $0 > 0 }).count >= 2 else { return nil }
        // Normal equations of min Σ (α·a + β·b − R)².
        var saa = 0.0, sab = 0.0, sbb = 0.0, sar = 0.0, sbr = 0.0
        for (d, r) in zip(distances, gold) {
            let (a, b) = columns(form, d)
            saa += a * a; sab += a * b; sbb += b * b; sar += a * r; sbr += b * r
        }
        let determinant = saa * sbb - sab * sab
        guard abs(determinant) > 1e-12 * max(1, saa * sbb) else { return nil }
        let alpha = (sar * sbb - sbr * sab) / determinant
        let beta = (sbr * saa - sar * sab) / determinant
        let mean = gold.reduce(0, +) / Double(gold.count)
        var residual = 0.0, total = 0.0
        for (d, r) in zip(distances, gold) {
            let e = predict(form, alpha: alpha, beta: beta, distance: d) - r
            residual += e * e
            total += (r - mean) * (r - mean)
        }
        var fit = Fit(form: form, alpha: alpha, beta: beta, peakDistance: nil, peakReward: nil, zeroDistance: nil,
                      rSquared: total > 0 ? 1 - residual / total : (residual == 0 ? 1 : 0), points: gold.count)
        if beta > 0 {
            switch form {
            case .bestOfN:
                fit.peakDistance = alpha / (2 * beta)
                fit.peakReward = alpha * alpha / (4 * beta)
            case .reinforcement:
                let peak = exp(alpha / beta - 1)
                fit.peakDistance = peak
                fit.peakReward = beta * peak
                fit.zeroDistance = exp(alpha / beta)
            }
        }
        return fit
    }

    /// The two regressors at distance d: (d, −d²) or (d, −d·ln d), with d·ln d = 0 at d = 0.
    static func columns(_ form: Form, _ d: Double) -> (Double, Double) {
        switch form {
        case .bestOfN: return (d, -d * d)
        case .reinforcement: return (d, d > 0 ? -d * log(d) : 0)
        }
    }
}
