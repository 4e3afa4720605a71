/// The Bradley–Terry reward-model loss on pairs of scalar rewards (alignment-losses.md §1).
///
/// For N preference pairs with rewards r_w (chosen) and r_l (rejected), optional margins m and a
/// centring coefficient c:
///
///     z_i  = r_w,i − r_l,i − m_i
///     L    = (1/N) Σ_i −log σ(z_i)  +  c · (1/N) Σ_i (r_w,i + r_l,i)²
///
///     ∂L/∂r_w,i = (−σ(−z_i) + 2c (r_w,i + r_l,i)) / N
///     ∂L/∂r_l,i = ( σ(−z_i) + 2c (r_w,i + r_l,i)) / N
///
/// This is TRL's `RewardTrainer` loss: `-logsigmoid(chosen - rejected - margin).mean()` plus
/// `center_rewards_coefficient * mean((chosen + rejected) ** 2)` (Eisenstein et al. 2023; TRL
/// recommends c = 0.01). −log σ is evaluated as softplus(−z), so no reward gap overflows.
///
/// ```swift
/// let result = BradleyTerry.loss(chosen: [2.0, 0.5], rejected: [1.0, 0.7], centeringCoefficient: 0.01)
/// result.value              // the scalar loss
/// result.chosenGradient     // ∂L/∂r_w per pair, feed to the reward model's backward
/// ```
public enum BradleyTerry {
    /// The loss, its gradient with respect to every reward, and TRL's reward-model metrics.
    public struct Result: Sendable, Equatable {
        /// L, the mean pairwise loss plus the centring term.
        public var value: Double
        /// ∂L/∂r_w,i per pair, including the 1/N of the mean.
        public var chosenGradient: [Double]
        /// ∂L/∂r_l,i per pair, including the 1/N of the mean.
        public var rejectedGradient: [Double]
        /// In order: `accuracy`, `margin`, `mean_reward`, `min_reward`, `max_reward` (TRL
        /// `RewardTrainer`'s names), then `rewards/chosen` and `rewards/rejected`.
        ///
        /// - `accuracy`: share of pairs with r_w > r_l strictly; a tie counts as wrong (TRL).
        /// - `margin`: mean of r_w − r_l (the margins m are not subtracted; TRL).
        /// - `mean_reward`, `min_reward`, `max_reward`: over all 2N rewards, chosen and rejected.
        /// - `rewards/chosen`, `rewards/rejected`: mean reward of each side.
        public var diagnostics: [Diagnostic]
    }

    /// The Bradley–Terry loss of `chosen` over `rejected` rewards, pair by pair.
    ///
    /// - Parameters:
    ///   - chosen: r_w, one reward per pair.
    ///   - rejected: r_l, one reward per pair, as many as `chosen`.
    ///   - margins: m per pair (TRL's `margin` column; usually ≥ 0), or nil for m = 0.
    ///   - centeringCoefficient: c of the centring term c·mean((r_w + r_l)²); 0 turns it off.
    /// - Precondition: at least one pair; equal counts (margins too, when given).
    public static func loss(
        chosen: [Double], rejected: [Double], margins: [Double]? = nil, centeringCoefficient: Double = 0
    ) -> Result {
        let N = chosen.count
        precondition(N > 0, "BradleyTerry.loss: no pairs")
        precondition(rejected.count == N, "BradleyTerry.loss: \(N) chosen vs \(rejected.count) rejected rewards")
        precondition(margins == nil || margins?.count == N, "BradleyTerry.loss: \(margins?.count ?? 0) margins for \(N) pairs")
        let c = centeringCoefficient
        let inverseN = 1 / Double(N)

        var pairwise = 0.0, centring = 0.0
        var chosenGradient = [Double](repeating: 0, count: N)
        var rejectedGradient = [Double](repeating: 0, count: N)
        for i in 0..<N {
            let z = chosen[i] - rejected[i] - (margins?[i] ?? 0)
            pairwise += StableMath.softplus(-z)          // −log σ(z)
            let sum = chosen[i] + rejected[i]
            centring += sum * sum
            let pull = StableMath.sigmoid(-z)            // −∂(−log σ(z))/∂z
            let centre = 2 * c * sum
            chosenGradient[i] = (-pull + centre) * inverseN
            rejectedGradient[i] = (pull + centre) * inverseN
        }
        let value = pairwise * inverseN + c * centring * inverseN
        return Result(
            value: value, chosenGradient: chosenGradient, rejectedGradient: rejectedGradient,
            diagnostics: diagnostics(chosen: chosen, rejected: rejected))
    }

    /// The expected pairwise loss when each label is flipped independently with probability ε:
    ///
    ///     E[ℓ] = (1 − ε)·ℓ(Δ) + ε·ℓ(−Δ),   ℓ(z) = −log σ(z) = softplus(−z),   Δ = r_w − r_l
    ///
    /// It is minimised at σ(Δ*) = 1 − ε, i.e. Δ* = log((1 − ε)/ε): a reward model trained on
    /// labels with noise ε cannot be confident beyond 1 − ε. ε = 0 gives the clean loss.
    ///
    /// - Precondition: 0 ≤ `noise` ≤ 1.
    public static func expectedLossUnderLabelNoise(delta: Double, noise: Double) -> Double {
        precondition((0...1).contains(noise), "BradleyTerry.expectedLossUnderLabelNoise: noise \(noise) outside [0, 1]")
        return (1 - noise) * StableMath.softplus(-delta) + noise * StableMath.softplus(delta)
    }

    /// TRL's reward-model metrics of one batch (see `Result.diagnostics`).
    static func diagnostics(chosen: [Double], rejected: [Double]) -> [Diagnostic] {
        let N = Double(chosen.count)
        var correct = 0, gap = 0.0, chosenSum = 0.0, rejectedSum = 0.0
        var minimum = Double.infinity, maximum = -Double.infinity
        for i in chosen.indices {
            if chosen[i] > rejected[i] { correct += 1 }
            gap += chosen[i] - rejected[i]
            chosenSum += chosen[i]
            rejectedSum += rejected[i]
            minimum = min(minimum, chosen[i], rejected[i])
            maximum = max(maximum, chosen[i], rejected[i])
        }
        return [
            Diagnostic(name: "accuracy", value: Double(correct) / N),
            Diagnostic(name: "margin", value: gap / N),
            Diagnostic(name: "mean_reward", value: (chosenSum + rejectedSum) / (2 * N)),
            Diagnostic(name: "min_reward", value: minimum),
            Diagnostic(name: "max_reward", value: maximum),
            Diagnostic(name: "rewards/chosen", value: chosenSum / N),
            Diagnostic(name: "rewards/rejected", value: rejectedSum / N),
        ]
    }
}
