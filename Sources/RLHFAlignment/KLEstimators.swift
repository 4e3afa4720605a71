import Foundation

/// Schulman's sample-based KL estimators ("Approximating KL divergence", 2020), per token of a
/// response sampled from π, and their sums in **nats per sequence** (alignment-losses.md §0).
///
/// With ℓ = log π(y_t | …) − log π_ref(y_t | …) and ρ = π_ref/π = e^{−ℓ}:
///
/// | estimator | per token | properties under y ~ π |
/// |---|---|---|
/// | k1 | ℓ | unbiased for KL(π‖π_ref); can be negative |
/// | k2 | ½ ℓ² | biased, ≥ 0, low variance (Coste et al. plot this) |
/// | k3 | ρ − 1 − log ρ = e^{−ℓ} − 1 + ℓ | unbiased, ≥ 0 (GRPO's KL term) |
///
/// k3 is evaluated as expm1(−ℓ) + ℓ, which keeps its digits when ℓ is tiny.
///
/// ```swift
/// KLEstimator.k3.perToken(policy: [-1.2, -0.3], reference: [-1.0, -0.5])
/// KLEstimator.k1.sequence(policy: logProbs, reference: referenceLogProbs)   // Σ_t ℓ_t
/// ```
public enum KLEstimator: String, Sendable, Codable, CaseIterable {
    /// ℓ.
    case k1
    /// ½ ℓ².
    case k2
    /// e^{−ℓ} − 1 + ℓ.
    case k3

    /// The estimate for one token with log-ratio ℓ = log π − log π_ref.
    public func value(logRatio ℓ: Double) -> Double {
        switch self {
        case .k1: ℓ
        case .k2: 0.5 * ℓ * ℓ
        case .k3: expm1(-ℓ) + ℓ
        }
    }

    /// d(estimate)/dℓ, which is also the derivative with respect to log π (π_ref held fixed):
    /// 1 for k1, ℓ for k2, 1 − e^{−ℓ} for k3.
    public func derivative(logRatio ℓ: Double) -> Double {
        switch self {
        case .k1: 1
        case .k2: ℓ
        case .k3: -expm1(-ℓ)
        }
    }

    /// The estimate per token from the policy's and the reference's log-probs of the sampled
    /// tokens (response tokens only), computed in Double.
    ///
    /// - Precondition: `policy` and `reference` have the same count.
    public func perToken(policy: [Float], reference: [Float]) -> [Double] {
        precondition(policy.count == reference.count, "KLEstimator.perToken: \(policy.count) policy vs \(reference.count) reference log-probs")
        return zip(policy, reference).map { value(logRatio: Double($0) - Double($1)) }
    }

    /// The sequence estimate Σ_t estimate(ℓ_t), in nats per sequence (0 for an empty response).
    ///
    /// - Precondition: `policy` and `reference` have the same count.
    public func sequence(policy: [Float], reference: [Float]) -> Double {
        precondition(policy.count == reference.count, "KLEstimator.sequence: \(policy.count) policy vs \(reference.count) reference log-probs")
        var total = 0.0
        for t in policy.indices { total += value(logRatio: Double(policy[t]) - Double(reference[t])) }
        return total
    }
}
