import Foundation

/// Group relative policy optimisation (Shao et al. 2024; TRL `grpo_trainer.py`; alignment-losses.md
/// §5, §10b), with Dr. GRPO and DAPO aggregation and GSPO's sequence-level ratio as options.
///
/// Group advantages, rewards laid out group by group (G consecutive per prompt), one per sequence:
///
///     group:  A_i = (R_i − mean_g R) / (std_g R + 1e-4)          std Bessel-corrected, within the group
///     batch:  A_i = (R_i − mean_g R) / (std_batch R + 1e-4)      std over every reward of the batch
///     none:   A_i =  R_i − mean_g R                              (Dr. GRPO)
///
/// Per token t of sequence i, with ℓ_t = log π_θ − log π_ref (current policy, with gradient) and
/// log ρ_t = log π_θ − log π_old (token level) or log ρ_i = mean_t(log π_θ − log π_old) for every
/// token of sequence i (GSPO, `ImportanceLevel.sequence`):
///
///     L_i,t = −min( ρ·A_i , clip(ρ, 1−ε, 1+ε_high)·A_i ) + β·k3(ℓ_t),   k3(ℓ) = e^{−ℓ} − 1 + ℓ
///     grpo:     L = (1/N) Σ_i (1/|o_i|) Σ_t L_i,t
///     drGRPO:   L = (1/(N·L_max)) Σ_i Σ_t L_i,t
///     dapo:     L = (1/T) Σ_i Σ_t L_i,t                            (T = all tokens of the minibatch)
///
/// With w_i,t the aggregation weight of the token and m = 0 exactly when the clipped branch is
/// strictly larger (A > 0 and ρ > 1+ε_high, or A < 0 and ρ < 1−ε):
///
///     token:     ∂L/∂log π_θ(t) = w_i,t·( −A_i·ρ_t·m_t + β·(1 − e^{−ℓ_t}) )
///     sequence:  ∂L/∂log π_θ(t) = (Σ_u w_i,u)·(−A_i·ρ_i·m_i)/|o_i| + w_i,t·β·(1 − e^{−ℓ_t})
///
/// The KL term is k3 toward π_ref in the loss, not the reward, and carries gradient (§10b). A
/// token with A = 0 (or β = 0) contributes exactly 0 through that term (no 0·∞).
///
/// TRL's `dapo` normalises by the tokens of the whole global batch (across processes and gradient
/// accumulation); here T is the tokens of the arrays passed in: pass the whole batch, or rescale.
///
/// ```swift
/// let A = GRPO.advantages(rewards: [1, 0], groupSize: 2, scaling: .group)   // one prompt, G = 2
/// let r = GRPO.loss(logProbs: [[-1.0, -0.5], [-2.0]], oldLogProbs: [[-1.1, -0.5], [-2.0]],
///                   referenceLogProbs: [[-1.0, -0.6], [-1.9]], advantages: A,
///                   beta: 0.04, aggregation: .grpo)
/// r.gradient   // ∂L/∂ log π_θ per token, same ragged shape as logProbs
/// ```
public enum GRPO {
    /// How group-centred rewards are scaled (TRL `scale_rewards`).
    public enum Scaling: String, Sendable, Codable, CaseIterable, Equatable {
        /// By the Bessel std of the group, + 1e-4 (TRL default; shift-invariant per prompt).
        case group
        /// By the Bessel std of every reward of the batch, + 1e-4 (not shift-invariant per prompt).
        case batch
        /// Not at all (Dr. GRPO; shift-invariant per prompt).
        case none
    }

    /// How per-token losses become the minibatch loss (TRL `loss_type`).
    public enum Aggregation: Sendable, Codable, Equatable {
        /// Token mean per sequence, then the mean over sequences (TRL `grpo`, the paper's 1/|o_i|).
        case grpo
        /// Sum over all tokens / (sequences × `maximumLength`) (TRL `dr_grpo`,
        /// `max_completion_length`).
        case drGRPO(maximumLength: Int)
        /// Sum over all tokens / all tokens (TRL `dapo`, TRL's default; token-level aggregation).
        case dapo
    }

    /// Where the importance ratio lives (TRL `importance_sampling_level`).
    public enum ImportanceLevel: String, Sendable, Codable, CaseIterable, Equatable {
        /// ρ_t per token (GRPO).
        case token
        /// One ρ_i = exp(mean_t(log π_θ − log π_old)) per sequence, applied to every token, with the
        /// gradient flowing through the mean (GSPO, Zheng et al. 2025).
        case sequence
    }

    /// The loss, its per-token gradient and TRL's GRPO metrics.
    public struct Result: Sendable, Equatable {
        /// L under the chosen aggregation.
        public var value: Double
        /// ∂value/∂log π_θ(y_t|·) per token, in the shape of `logProbs`.
        public var gradient: [[Double]]
        /// In order (shares are over all tokens, as TRL's `masked_batch_mean`; at sequence level
        /// every token of a sequence shares its sequence's clip state):
        ///
        /// - `policy/clipfrac_avg`: share of tokens whose clipped branch is strictly selected; the same
        ///   number as `clip_ratio/region_mean`.
        /// - `clip_ratio/low_mean`: share with ρ < 1−ε and A < 0; `clip_ratio/high_mean`: share with
        ///   ρ > 1+ε_high and A > 0; `clip_ratio/region_mean`: their sum.
        /// - `kl`: mean over tokens of k3(ℓ_t) (reported whatever β).
        public var diagnostics: [Diagnostic]
    }

    /// The group-relative advantages, one per sequence (§5, §10b).
    ///
    /// A group whose rewards are all equal gets exactly zero advantages (no NaN, no rounding noise).
    ///
    /// - Parameters:
    ///   - rewards: R per sequence, `groupSize` consecutive sequences per prompt.
    ///   - groupSize: G, the sequences per prompt (paper: 64).
    ///   - scaling: `group`, `batch` or `none`.
    /// - Precondition: G ≥ 2 (a group of 1 has no variance, §10b); a positive multiple of G rewards.
    public static func advantages(rewards: [Double], groupSize: Int, scaling: Scaling) -> [Double] {
        let G = groupSize
        precondition(G >= 2, "GRPO.advantages: group size \(G) < 2; group statistics need at least 2 samples per prompt")
        precondition(!rewards.isEmpty && rewards.count % G == 0,
                     "GRPO.advantages: \(rewards.count) rewards is not a positive multiple of the group size \(G)")
        let batchDeviation = scaling == .batch
            ? Statistics.meanAndVariance(rewards, convention: .sample).variance.squareRoot() : 0
        var advantages = [Double](repeating: 0, count: rewards.count)
        for start in stride(from: 0, to: rewards.count, by: G) {
            let group = Array(rewards[start..<(start + G)])
            guard group.contains(where: { $0 != group[0] }) else { continue }
            let (mean, variance) = Statistics.meanAndVariance(group, convention: .sample)
            let divisor: Double
            switch scaling {
            case .group: divisor = variance.squareRoot() + 1e-4
            case .batch: divisor = batchDeviation + 1e-4
            case .none: divisor = 1
            }
            for j in 0..<G { advantages[start + j] = (group[j] - mean) / divisor }
        }
        return advantages
    }

    /// The GRPO loss over N sequences (§5).
    ///
    /// - Parameters:
    ///   - logProbs: log π_θ(y_t|·) per response token, with gradient.
    ///   - oldLogProbs: log π_old(y_t|·) at rollout time, same shape (detached).
    ///   - referenceLogProbs: log π_ref(y_t|·), same shape (detached; unused in the value when β = 0
    ///     but still reported as `kl`).
    ///   - advantages: A_i, one per sequence (detached), e.g. from `advantages(rewards:groupSize:scaling:)`.
    ///   - epsilon: ε, the lower clip (TRL `epsilon`, 0.2).
    ///   - clipHigh: ε_high, the upper clip (DAPO's clip-higher, e.g. 0.28); nil uses ε.
    ///   - beta: the k3 coefficient β (TRL default 0; DeepSeekMath 0.04).
    ///   - aggregation: `grpo`, `drGRPO(maximumLength:)` or `dapo` (TRL's default).
    ///   - importance: `token` (GRPO) or `sequence` (GSPO).
    /// - Precondition: equal ragged shapes; one advantage per sequence; every sequence has at least
    ///   one token; 0 ≤ ε < 1; ε_high ≥ 0; β ≥ 0; `maximumLength` ≥ the longest sequence.
    public static func loss(
        logProbs: [[Double]], oldLogProbs: [[Double]], referenceLogProbs: [[Double]], advantages: [Double],
        clip epsilon: Double = 0.2, clipHigh: Double? = nil, beta: Double = 0,
        aggregation: Aggregation = .dapo, importance: ImportanceLevel = .token
    ) -> Result {
        let N = logProbs.count
        precondition(RaggedTokens.sameShape(logProbs, oldLogProbs) && RaggedTokens.sameShape(logProbs, referenceLogProbs),
                     "GRPO.loss: log-probs (\(RaggedTokens.describe(logProbs))), old (\(RaggedTokens.describe(oldLogProbs))) and reference (\(RaggedTokens.describe(referenceLogProbs))) differ in shape")
        precondition(advantages.count == N, "GRPO.loss: \(advantages.count) advantages for \(N) sequences")
        precondition(N > 0 && logProbs.allSatisfy { !$0.isEmpty }, "GRPO.loss: no sequences, or a sequence without tokens")
        let epsilonHigh = clipHigh ?? epsilon
        precondition(epsilon >= 0 && epsilon < 1, "GRPO.loss: clip \(epsilon) outside [0, 1)")
        precondition(epsilonHigh >= 0, "GRPO.loss: upper clip \(epsilonHigh) < 0")
        precondition(beta >= 0 && beta.isFinite, "GRPO.loss: β = \(beta) must be finite and ≥ 0")
        let T = RaggedTokens.tokenCount(logProbs)
        if case .drGRPO(let maximumLength) = aggregation {
            let longest = logProbs.map(\.count).max() ?? 0
            precondition(maximumLength >= longest,
                         "GRPO.loss: Dr. GRPO maximum length \(maximumLength) < longest sequence \(longest)")
        }
        let low = 1 - epsilon, high = 1 + epsilonHigh

        var total = 0.0, klSum = 0.0
        var lowClipped = 0, highClipped = 0
        var gradient = RaggedTokens.zeros(like: logProbs)
        for i in 0..<N {
            let count = logProbs[i].count
            let weight: Double   // w_i,t, the same for every token of sequence i
            switch aggregation {
            case .grpo: weight = 1 / (Double(N) * Double(count))
            case .drGRPO(let maximumLength): weight = 1 / (Double(N) * Double(maximumLength))
            case .dapo: weight = 1 / Double(T)
            }
            let a = advantages[i]
            var sequenceLogRatio = 0.0
            if importance == .sequence {
                for t in 0..<count { sequenceLogRatio += logProbs[i][t] - oldLogProbs[i][t] }
                sequenceLogRatio /= Double(count)
            }
            var sequenceSlope = 0.0   // Σ_t w·∂(surrogate)/∂log ρ_i, sequence level only
            for t in 0..<count {
                let logRho = importance == .sequence ? sequenceLogRatio : logProbs[i][t] - oldLogProbs[i][t]
                let rho = exp(logRho)
                let isLow = a < 0 && rho < low, isHigh = a > 0 && rho > high
                if isLow { lowClipped += 1 }
                if isHigh { highClipped += 1 }
                let isClipped = isLow || isHigh
                let ell = logProbs[i][t] - referenceLogProbs[i][t]
                let k3 = KLEstimator.k3.value(logRatio: ell)
                klSum += k3
                var tokenLoss = 0.0, surrogateSlope = 0.0, klSlope = 0.0
                if a != 0 {
                    tokenLoss += -a * (isClipped ? min(max(rho, low), high) : rho)
                    if !isClipped { surrogateSlope = -a * rho }
                }
                if beta != 0 {
                    tokenLoss += beta * k3
                    klSlope = beta * KLEstimator.k3.derivative(logRatio: ell)
                }
                total += weight * tokenLoss
                switch importance {
                case .token:
                    gradient[i][t] = weight * (surrogateSlope + klSlope)
                case .sequence:
                    gradient[i][t] = weight * klSlope
                    sequenceSlope += weight * surrogateSlope
                }
            }
            if importance == .sequence, sequenceSlope != 0 {
                let perToken = sequenceSlope / Double(count)
                for t in 0..<count { gradient[i][t] += perToken }
            }
        }

        let region = Double(lowClipped + highClipped) / Double(T)
        let diagnostics = [
            Diagnostic(name: "policy/clipfrac_avg", value: region),
            Diagnostic(name: "clip_ratio/low_mean", value: Double(lowClipped) / Double(T)),
            Diagnostic(name: "clip_ratio/high_mean", value: Double(highClipped) / Double(T)),
            Diagnostic(name: "clip_ratio/region_mean", value: region),
            Diagnostic(name: "kl", value: klSum / Double(T)),
        ]
        return Result(value: total, gradient: gradient, diagnostics: diagnostics)
    }
}
