import Foundation

/// REINFORCE leave-one-out (Ahmadian et al. 2024; TRL `rloo_trainer.py`; alignment-losses.md §5):
/// k samples per prompt, each baselined by the mean reward of the other k − 1.
///
/// Rewards are laid out group by group, k consecutive per prompt. With R_i the sequence reward
/// (`penalizedRewards`: score − β·Σ_t ℓ_t from the rollout, held constant, §10b):
///
///     A_i = R_i − (1/(k−1)) Σ_{j≠i} R_j = (k/(k−1))·(R_i − R̄)         (Σ_group A = 0)
///
/// The loss is PPO-clip on the **sequence** ratio ρ_i = exp(s_i − s_old,i), s = log π(y_i|x)
/// summed over response tokens, mean over the N samples:
///
///     L = (1/N) Σ_i max( −A_i·ρ_i , −A_i·clip(ρ_i, 1−ε, 1+ε) )
///     ∂L/∂s_i = −A_i·ρ_i·m_i / N          (m = 0 iff the clipped branch is strictly larger)
///
/// At s = s_old this is plain REINFORCE, ∂L/∂s_i = −A_i/N; with k = 2, A_1 = R_1 − R_2 = −A_2.
///
/// ```swift
/// let R = RLOO.penalizedRewards(scores: [1.0, 0.2, 0.5, 0.9], logRatioSums: [3, 1, 2, 2], beta: 0.05)
/// let A = RLOO.advantages(rewards: R, groupSize: 2)
/// let r = RLOO.loss(logProbs: [-10.0, -12.0, -8.0, -9.0], oldLogProbs: [-10.1, -12.0, -8.2, -9.0], advantages: A)
/// ```
public enum RLOO {
    /// The loss, its gradient with respect to each sample's sequence log-probability, and metrics.
    public struct Result: Sendable, Equatable {
        /// L, the mean over samples.
        public var value: Double
        /// ∂value/∂s_i per sample, including the 1/N. Every response token gets this gradient.
        public var gradient: [Double]
        /// In order:
        ///
        /// - `policy/clipfrac_avg`: share of samples whose clipped branch is strictly selected.
        /// - `policy/approxkl_avg`: mean of ½(s − s_old)² (sequence level).
        /// - `policy/ratio_mean`: mean sequence ratio ρ (unclipped).
        /// - `rloo/advantage_mean`, `rloo/advantage_std`: of the advantages (population std).
        public var diagnostics: [Diagnostic]
    }

    /// R_i = score_i − β·KL_i, KL_i = Σ_t ℓ_t of the rollout (k1 sum, or any per-sequence
    /// estimate), held constant (TRL; alignment-losses.md §10b).
    ///
    /// - Precondition: equal counts.
    public static func penalizedRewards(scores: [Double], logRatioSums: [Double], beta: Double) -> [Double] {
        precondition(scores.count == logRatioSums.count,
                     "RLOO.penalizedRewards: \(scores.count) scores vs \(logRatioSums.count) KL sums")
        return zip(scores, logRatioSums).map { $0 - beta * $1 }
    }

    /// The leave-one-out advantages A_i = R_i − mean_{j≠i} R_j, group by group.
    ///
    /// A group whose rewards are all equal gets exactly zero advantages.
    ///
    /// - Parameters:
    ///   - rewards: R per sample, k consecutive samples per prompt.
    ///   - k: the samples per prompt (TRL default 2).
    /// - Precondition: k ≥ 2 (k = 1 has no baseline, §10b); a positive multiple of k rewards.
    public static func advantages(rewards: [Double], groupSize k: Int) -> [Double] {
        precondition(k >= 2, "RLOO.advantages: group size \(k) < 2; leave-one-out needs at least 2 samples per prompt")
        precondition(!rewards.isEmpty && rewards.count % k == 0,
                     "RLOO.advantages: \(rewards.count) rewards is not a positive multiple of the group size \(k)")
        var advantages = [Double](repeating: 0, count: rewards.count)
        for start in stride(from: 0, to: rewards.count, by: k) {
            let group = rewards[start..<(start + k)]
            guard group.contains(where: { $0 != group[start] }) else { continue }
            let sum = group.reduce(0, +)
            for i in group.indices {
                advantages[i] = rewards[i] - (sum - rewards[i]) / Double(k - 1)
            }
        }
        return advantages
    }

    /// The PPO-clip surrogate on sequence ratios, mean over the N samples.
    ///
    /// - Parameters:
    ///   - logProbs: s_i = log π_θ(y_i|x_i) per sample, summed over response tokens, with gradient.
    ///   - oldLogProbs: s_old,i at rollout time (detached).
    ///   - advantages: A_i per sample (detached), e.g. from `advantages(rewards:groupSize:)`.
    ///   - epsilon: ε of the ratio clip.
    /// - Precondition: at least one sample; equal counts; 0 ≤ ε < 1.
    public static func loss(
        logProbs: [Double], oldLogProbs: [Double], advantages: [Double], clip epsilon: Double = 0.2
    ) -> Result {
        let N = logProbs.count
        precondition(N > 0, "RLOO.loss: no samples")
        precondition(oldLogProbs.count == N && advantages.count == N,
                     "RLOO.loss: counts \(N) log-probs, \(oldLogProbs.count) old log-probs, \(advantages.count) advantages differ")
        precondition(epsilon >= 0 && epsilon < 1, "RLOO.loss: clip \(epsilon) outside [0, 1)")
        let inverseN = 1 / Double(N)
        let low = 1 - epsilon, high = 1 + epsilon

        var total = 0.0, approximateKL = 0.0, ratioSum = 0.0
        var clipped = 0
        var gradient = [Double](repeating: 0, count: N)
        for i in 0..<N {
            let logRho = logProbs[i] - oldLogProbs[i]
            let rho = exp(logRho)
            let a = advantages[i]
            ratioSum += rho
            approximateKL += 0.5 * logRho * logRho
            let isClipped = (a > 0 && rho > high) || (a < 0 && rho < low)
            if isClipped { clipped += 1 }
            guard a != 0 else { continue }
            total += -a * (isClipped ? min(max(rho, low), high) : rho)
            if !isClipped { gradient[i] = -a * rho * inverseN }
        }
        let advantageStats = Statistics.meanAndStandardDeviation(advantages)
        let diagnostics = [
            Diagnostic(name: "policy/clipfrac_avg", value: Double(clipped) / Double(N)),
            Diagnostic(name: "policy/approxkl_avg", value: approximateKL * inverseN),
            Diagnostic(name: "policy/ratio_mean", value: ratioSum * inverseN),
            Diagnostic(name: "rloo/advantage_mean", value: advantageStats.mean),
            Diagnostic(name: "rloo/advantage_std", value: advantageStats.standardDeviation),
        ]
        return Result(value: total * inverseN, gradient: gradient, diagnostics: diagnostics)
    }
}
