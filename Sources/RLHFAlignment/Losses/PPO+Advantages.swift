import Foundation

/// PPO's rollout-side arithmetic on ragged per-token arrays (alignment-losses.md §3.1, §3.2, §3.4):
/// the KL-shaped per-token rewards, generalised advantage estimation and whitening. None of it
/// carries gradient; the results feed `PPO.policyLoss` and `PPO.valueLoss` as constants.
///
///     shaping:    r_t = −β·k(ℓ_t) + 𝟙[t = T]·R(x, y)       ℓ_t = log π_old(y_t) − log π_ref(y_t)
///     GAE:        δ_t = r_t + γ·V_{t+1} − V_t,   A_t = δ_t + γλ·A_{t+1},   G_t = A_t + V_t
///                 (backwards from t = T, with V_{T+1} = 0 and A_{T+1} = 0)
///     whitening:  (x − mean) / sqrt(var + 1e-8),   var Bessel-corrected over all tokens
///
/// ```swift
/// let rewards = PPO.shapedRewards(scores: [1.5], logRatios: [[0.1, -0.2, 0.05]], beta: 0.05)
/// let (advantages, returns) = PPO.generalizedAdvantages(rewards: rewards, values: [[0.2, 0.3, 0.1]],
///                                                       gamma: 1, lambda: 0.95)
/// let whitened = PPO.whiten(advantages)
/// ```
extension PPO {
    /// The KL-shaped per-token rewards of §3.1: r_t = −β·k(ℓ_t) for every response token, plus the
    /// sequence score R(x, y) at the **last** token of each response.
    ///
    /// With k1, Σ_t r_t = R(x, y) − β·Σ_t ℓ_t (Coste's R_PPO). The score sits on the last valid
    /// response token (EOS when there is one), not one slot after it as in TRL's experimental PPO
    /// (huggingface/trl#1893; alignment-losses.md §10b). Score clipping, `missing_eos_penalty` and
    /// reward scaling are the caller's, applied to `scores` beforehand.
    ///
    /// - Parameters:
    ///   - scores: R(x, y) per response.
    ///   - logRatios: ℓ_t = log π_old(y_t|·) − log π_ref(y_t|·) per response token (rollout time).
    ///   - beta: the KL coefficient β (0 leaves only the score, on the last token).
    ///   - estimator: k1 (TRL's and trlx's default), k2 or k3 per token.
    /// - Precondition: one score per response; every response has at least one token.
    public static func shapedRewards(
        scores: [Double], logRatios: [[Double]], beta: Double, estimator: KLEstimator = .k1
    ) -> [[Double]] {
        precondition(scores.count == logRatios.count,
                     "PPO.shapedRewards: \(scores.count) scores for \(logRatios.count) responses")
        precondition(logRatios.allSatisfy { !$0.isEmpty }, "PPO.shapedRewards: a response has no tokens")
        return logRatios.indices.map { i in
            var rewards = logRatios[i].map { -beta * estimator.value(logRatio: $0) }
            rewards[rewards.count - 1] += scores[i]
            return rewards
        }
    }

    /// Generalised advantage estimation (Schulman et al. 2015; alignment-losses.md §3.2), response by
    /// response, with V after the last token taken as 0 whatever a padded slot would hold (§10b).
    ///
    /// With γ = λ = 1 the returns are the rewards-to-go Σ_{s ≥ t} r_s, whatever the values.
    ///
    /// - Parameters:
    ///   - rewards: r_t per response token, e.g. from `shapedRewards`.
    ///   - values: V_t = V_old(x, y_≤t) per token at rollout time, same shape.
    ///   - gamma: the discount γ (1 in every configuration of §3.6).
    ///   - lambda: the GAE λ (0.95 in TRL, trlx, DeepSpeed-Chat; 1 in OpenRLHF and verl).
    /// - Returns: A_t and the value targets G_t = A_t + V_t, in the shape of `rewards`.
    /// - Precondition: `rewards` and `values` have the same ragged shape; γ, λ ∈ [0, 1].
    public static func generalizedAdvantages(
        rewards: [[Double]], values: [[Double]], gamma: Double, lambda: Double
    ) -> (advantages: [[Double]], returns: [[Double]]) {
        precondition(RaggedTokens.sameShape(rewards, values),
                     "PPO.generalizedAdvantages: rewards (\(RaggedTokens.describe(rewards))) and values (\(RaggedTokens.describe(values))) differ in shape")
        precondition((0...1).contains(gamma), "PPO.generalizedAdvantages: γ = \(gamma) outside [0, 1]")
        precondition((0...1).contains(lambda), "PPO.generalizedAdvantages: λ = \(lambda) outside [0, 1]")
        var advantages = RaggedTokens.zeros(like: rewards)
        var returns = RaggedTokens.zeros(like: rewards)
        for i in rewards.indices {
            var nextValue = 0.0, nextAdvantage = 0.0
            for t in rewards[i].indices.reversed() {
                let delta = rewards[i][t] + gamma * nextValue - values[i][t]
                let advantage = delta + gamma * lambda * nextAdvantage
                advantages[i][t] = advantage
                returns[i][t] = advantage + values[i][t]
                nextValue = values[i][t]
                nextAdvantage = advantage
            }
        }
        return (advantages, returns)
    }

    /// Whitening over all tokens of the batch (alignment-losses.md §3.4, §10b; TRL's `masked_whiten`):
    /// `(x − mean) / sqrt(var + 1e-8)` with the Bessel-corrected variance (n − 1; OpenRLHF divides by
    /// n). With `shiftMean` false the values are only scaled and the mean is added back
    /// (`(x − mean)/sqrt(var + 1e-8) + mean`, TRL's reward whitening).
    ///
    /// Whitening across prompts breaks per-prompt shift invariance (p3o.md T3).
    ///
    /// - Precondition: at least two tokens in all.
    public static func whiten(_ values: [[Double]], shiftMean: Bool = true) -> [[Double]] {
        let flat = values.flatMap { $0 }
        precondition(flat.count >= 2, "PPO.whiten: \(flat.count) tokens; whitening needs at least 2")
        let (mean, variance) = Statistics.meanAndVariance(flat, convention: .sample)
        let deviation = (variance + 1e-8).squareRoot()
        return values.map { response in
            response.map { x in
                let whitened = (x - mean) / deviation
                return shiftMean ? whitened : whitened + mean
            }
        }
    }
}
