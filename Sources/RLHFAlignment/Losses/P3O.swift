import Foundation

/// The P3O losses (Pairwise Proximal Policy Optimization, Wu et al. 2023; p3o.md §5): a PPO-style
/// clipped surrogate driven only by the within-prompt pair difference Δ, hence exactly invariant
/// under per-prompt reward shifts r → r + δ(x) (p3o.md §7).
///
/// Per pair i, with s = sequence log-probabilities under π_θ (with gradient), o = the same under
/// π_old (detached), log ρ_k = s_k − o_k, Δ detached (see `delta(...)`), ε = `updateClip`,
/// c = `weightClip`, and weights clipped **in log space** (log w = clamp(·, −log c, log c)):
///
///     V1 (separate clipping, p3o.md §5.2):
///       w₁ = sg(clip(ρ₂, 1/c, c)),  w₂ = sg(clip(ρ₁, 1/c, c))
///       L₁ = max(−Δ·w₁·ρ₁, −Δ·w₁·clip(ρ₁, 1−ε, 1+ε))
///       L₂ = max(+Δ·w₂·ρ₂, +Δ·w₂·clip(ρ₂, 1−ε, 1+ε))
///       ℓᵢ = (L₁ + L₂)/2
///     V2 (joint clipping, p3o.md §5.3):
///       w  = sg(clip(ρ₁ρ₂, 1/c, c)),  ℓ = s₁ − s₂,  ℓ₀ = o₁ − o₂
///       ℓᵢ = max(−Δ·w·ℓ, −Δ·w·clip(ℓ, ℓ₀−ε, ℓ₀+ε)) / 2
///
/// Gradients (p3o.md §5.4), before the reduction's scaling:
///
///     V1: ∂ℓᵢ/∂s₁ = −½·w₁·ρ₁·Δ·m₁,   ∂ℓᵢ/∂s₂ = +½·w₂·ρ₂·Δ·m₂
///     V2: ∂ℓᵢ/∂s₁ = −∂ℓᵢ/∂s₂ = −½·w·Δ·m
///
/// where m = 0 exactly when the clipped branch is strictly selected; a tie at a clip boundary has
/// equal value and gradient in both branches and counts as unclipped (m = 1).
///
/// V1 is unbounded on one side (p3o.md §5.4): with Δ < 0 and ρ₁ → ∞ the unclipped branch stays
/// active and its value and gradient grow like ρ₁; the [1/c, c] clip bounds only the *other*
/// response's weight. With Δ = 0 a pair contributes exactly 0 (no 0·∞).
///
/// ```swift
/// let d = P3O.delta(rewardFirst: [1.0], rewardSecond: [0.2], klFirst: [0.3], klSecond: [0.1], beta: 0.05)
/// let r = P3O.loss(variant: .jointClipping, delta: d,
///                  newFirst: [-10.1], newSecond: [-12.0], oldFirst: [-10.0], oldSecond: [-12.0])
/// r.firstGradient   // ∂loss/∂ log π_θ(y₁|x), per pair: chain to every response token of y₁
/// ```
public enum P3O {
    /// Which clipping of p3o.md §5: V1 (`thwu1/rlhf_sac`) or V2 (`thwu1/trlx`, the natural default).
    public enum Variant: String, Sendable, Codable {
        /// P3O-V1: each response gets a PPO clipped surrogate on its own ratio, weighted by the
        /// other response's clipped, detached ratio (p3o.md §5.2).
        case separateClipping = "v1"
        /// P3O-V2: one clip on the pair log-ratio ℓ_θ − ℓ_old, weighted by the clipped, detached
        /// joint ratio ρ₁ρ₂ (p3o.md §5.3).
        case jointClipping = "v2"
    }

    /// How per-pair losses ℓᵢ (which carry the ½ of §5.2–5.3) become the minibatch loss (p3o.md §5.5).
    public enum Reduction: Sendable, Codable, Equatable {
        /// (1/N) Σᵢ ℓᵢ: the mean over the N pairs of the per-pair loss *including* its ½
        /// (`rlhf_sac`; `thwu1/trlx` Oct 2023 and `avg_tokenwise=False`).
        case pairMean
        /// (Σᵢ 2·ℓᵢ) / `responseTokens`: the sum over the N pairs of the per-pair loss *without*
        /// the ½, divided by `responseTokens`, which must be the total number of response tokens
        /// (EOS included, prompt and padding excluded) of *both* responses of *every* pair in the
        /// minibatch (`thwu1/trlx` Nov 2023 `p3o_loss`, `avg_tokenwise=True`).
        case tokenNormalizedSum(responseTokens: Int)
    }

    /// The minibatch loss, its gradient with respect to each response's sequence log-probability,
    /// and the p3o.md §11 diagnostics.
    public struct Result: Sendable, Equatable {
        /// The reduced loss (−J).
        public var value: Double
        /// ∂value/∂s₁ per pair, s₁ = log π_θ(y₁|x) (equivalently S_θ(y₁)), including the reduction's
        /// scaling. Every response token of y₁ gets this gradient on its log-prob (p3o.md §5.4).
        public var firstGradient: [Double]
        /// ∂value/∂s₂ per pair, likewise for y₂.
        public var secondGradient: [Double]
        /// In order (p3o.md §11 names where it gives them):
        ///
        /// - `p3o/delta_mean`, `p3o/delta_abs`, `p3o/delta_std`: mean, mean |Δ| and population std
        ///   of Δ over pairs.
        /// - `p3o/ratio_mean`, `p3o/ratio_min`, `p3o/ratio_max`: of the sequence ratios ρ over all
        ///   2N responses (unclipped; +∞ past log ρ ≈ 709).
        /// - V2 only: `p3o/pair_ratio_mean`, `p3o/pair_ratio_min`, `p3o/pair_ratio_max`: of ρ₁ρ₂
        ///   over pairs (§11's "and of ρ₁ρ₂ for V2"; unclipped).
        /// - `policy/clipfrac_avg`: share of responses (V1) or pairs (V2) with m = 0.
        /// - `p3o/weight_mean`: mean clipped importance weight (V1: w₁ and w₂ over 2N responses;
        ///   V2: w over N pairs). Not named in §11.
        /// - `p3o/weight_clipfrac`: share of those weights strictly outside [1/c, c] before
        ///   clipping. Not named in §11.
        ///
        /// `p3o/reward_diff_*` and `p3o/logratio_{chosen,rejected}` need the rewards and S, which
        /// this loss does not see; the trainer logs them.
        public var diagnostics: [Diagnostic]
    }

    /// Δᵢ = (r₁ − r₂) − β·(S(y₁) − S(y₂)), the KL-penalised pair difference of p3o.md §3, to be
    /// treated as a constant (stop-gradient) by `loss`.
    ///
    /// S(y) = Σ_t [log π_θ(y_t|x, y_<t) − log π_ref(y_t|x, y_<t)] is the **sequence log-ratio** of
    /// the response against the reference (SFT) policy — the single-sample sequence KL estimate,
    /// not a KL divergence between distributions — and r̃ = r − β·S, so the β-term *subtracts*.
    /// The reward difference is formed first, so a per-prompt shift of both rewards cancels before
    /// β·S is subtracted.
    ///
    /// - Parameters:
    ///   - rewardFirst: r₁ = r_φ(y₁|x) per pair.
    ///   - rewardSecond: r₂ = r_φ(y₂|x) per pair.
    ///   - klFirst: S(y₁) per pair (detached).
    ///   - klSecond: S(y₂) per pair (detached).
    ///   - beta: the fixed KL coefficient β (`kl_coef`, 0.05 in the authors' HH configs).
    /// - Precondition: equal counts.
    public static func delta(
        rewardFirst: [Double], rewardSecond: [Double], klFirst: [Double], klSecond: [Double], beta: Double
    ) -> [Double] {
        let N = rewardFirst.count
        precondition(rewardSecond.count == N && klFirst.count == N && klSecond.count == N,
                     "P3O.delta: counts \(N), \(rewardSecond.count), \(klFirst.count), \(klSecond.count) differ")
        return (0..<N).map { i in
            (rewardFirst[i] - rewardSecond[i]) - beta * (klFirst[i] - klSecond[i])
        }
    }

    /// The P3O loss of p3o.md §5 for N pairs.
    ///
    /// - Parameters:
    ///   - variant: V1 (separate clipping) or V2 (joint clipping).
    ///   - delta: Δ per pair (detached), e.g. from `delta(...)`.
    ///   - newFirst: s₁ = log π_θ(y₁|x) per pair (or S_θ(y₁); the π_ref part cancels in every ratio).
    ///   - newSecond: s₂ likewise.
    ///   - oldFirst: log π_old(y₁|x) per pair (same convention as `newFirst`).
    ///   - oldSecond: log π_old(y₂|x) per pair.
    ///   - epsilon: ε of the update clip (`cliprange`).
    ///   - c: the importance-weight clip [1/c, c] (`cliprange_ratio`).
    ///   - reduction: pair mean or token-normalised sum (p3o.md §5.5).
    /// - Precondition: at least one pair; equal counts; ε ≥ 0 (< 1 for V1); c ≥ 1; responseTokens > 0.
    public static func loss(
        variant: Variant, delta: [Double],
        newFirst: [Double], newSecond: [Double], oldFirst: [Double], oldSecond: [Double],
        updateClip epsilon: Double = 0.2, weightClip c: Double = 10, reduction: Reduction = .pairMean
    ) -> Result {
        evaluate(variant: variant, delta: delta, newFirst: newFirst, newSecond: newSecond,
                 detachedNewFirst: newFirst, detachedNewSecond: newSecond,
                 oldFirst: oldFirst, oldSecond: oldSecond, epsilon: epsilon, c: c, reduction: reduction)
    }

    /// `loss` with the stop-gradient made explicit: the importance weights are computed from
    /// `detachedNew*` and the surrogate from `new*`. With both equal it is `loss`; holding the
    /// detached values fixed lets finite differences see exactly the autograd gradient.
    static func evaluate(
        variant: Variant, delta: [Double],
        newFirst: [Double], newSecond: [Double],
        detachedNewFirst: [Double], detachedNewSecond: [Double],
        oldFirst: [Double], oldSecond: [Double],
        epsilon: Double, c: Double, reduction: Reduction
    ) -> Result {
        let N = delta.count
        precondition(N > 0, "P3O.loss: no pairs")
        precondition(newFirst.count == N && newSecond.count == N && oldFirst.count == N && oldSecond.count == N
                     && detachedNewFirst.count == N && detachedNewSecond.count == N,
                     "P3O.loss: \(N) deltas but log-prob counts \(newFirst.count), \(newSecond.count), \(oldFirst.count), \(oldSecond.count)")
        precondition(epsilon >= 0 && (variant == .jointClipping || epsilon < 1), "P3O.loss: update clip \(epsilon) out of range")
        precondition(c >= 1, "P3O.loss: weight clip \(c) < 1")

        // Reduction: value = scale · Σᵢ ℓᵢ, ℓᵢ carrying its ½.
        let scale: Double
        switch reduction {
        case .pairMean:
            scale = 1 / Double(N)
        case .tokenNormalizedSum(let tokens):
            precondition(tokens > 0, "P3O.loss: \(tokens) response tokens")
            scale = 2 / Double(tokens)
        }

        let logC = log(c)
        let low = 1 - epsilon, high = 1 + epsilon
        var total = 0.0
        var firstGradient = [Double](repeating: 0, count: N)
        var secondGradient = [Double](repeating: 0, count: N)
        var ratios: [Double] = []
        ratios.reserveCapacity(2 * N)
        var pairRatios: [Double] = []
        var clipped = 0, weightsClipped = 0, weightCount = 0
        var weightSum = 0.0

        for i in 0..<N {
            let d = delta[i]
            let logRho1 = newFirst[i] - oldFirst[i]
            let logRho2 = newSecond[i] - oldSecond[i]
            let rho1 = exp(logRho1), rho2 = exp(logRho2)
            ratios.append(rho1)
            ratios.append(rho2)
            let detachedLogRho1 = detachedNewFirst[i] - oldFirst[i]
            let detachedLogRho2 = detachedNewSecond[i] - oldSecond[i]

            switch variant {
            case .separateClipping:
                let w1 = exp(min(max(detachedLogRho2, -logC), logC))
                let w2 = exp(min(max(detachedLogRho1, -logC), logC))
                weightSum += w1 + w2
                weightCount += 2
                if abs(detachedLogRho2) > logC { weightsClipped += 1 }
                if abs(detachedLogRho1) > logC { weightsClipped += 1 }
                // m₁ = 0 iff the clipped branch of L₁ is strictly larger.
                let m1 = (d > 0 && rho1 > high) || (d < 0 && rho1 < low) ? 0.0 : 1.0
                let m2 = (d > 0 && rho2 < low) || (d < 0 && rho2 > high) ? 0.0 : 1.0
                if m1 == 0 { clipped += 1 }
                if m2 == 0 { clipped += 1 }
                guard d != 0 else { continue }
                let rho1Used = m1 == 1 ? rho1 : min(max(rho1, low), high)
                let rho2Used = m2 == 1 ? rho2 : min(max(rho2, low), high)
                let L1 = -d * w1 * rho1Used
                let L2 = d * w2 * rho2Used
                total += (L1 + L2) / 2
                firstGradient[i] = m1 == 1 ? -0.5 * w1 * rho1 * d * scale : 0
                secondGradient[i] = m2 == 1 ? 0.5 * w2 * rho2 * d * scale : 0

            case .jointClipping:
                let detachedLogPair = detachedLogRho1 + detachedLogRho2
                let w = exp(min(max(detachedLogPair, -logC), logC))
                weightSum += w
                weightCount += 1
                if abs(detachedLogPair) > logC { weightsClipped += 1 }
                pairRatios.append(exp(logRho1 + logRho2))
                let ell = newFirst[i] - newSecond[i]
                let ell0 = oldFirst[i] - oldSecond[i]
                let lower = ell0 - epsilon, upper = ell0 + epsilon
                let m = (d > 0 && ell > upper) || (d < 0 && ell < lower) ? 0.0 : 1.0
                if m == 0 { clipped += 1 }
                guard d != 0 else { continue }
                let ellUsed = m == 1 ? ell : min(max(ell, lower), upper)
                total += -d * w * ellUsed / 2
                let g = -0.5 * w * d * m * scale
                firstGradient[i] = g
                secondGradient[i] = -g
            }
        }

        var diagnostics: [Diagnostic] = []
        let deltaStats = Statistics.meanAndStandardDeviation(delta)
        diagnostics.append(Diagnostic(name: "p3o/delta_mean", value: deltaStats.mean))
        diagnostics.append(Diagnostic(name: "p3o/delta_abs", value: delta.reduce(0) { $0 + abs($1) } / Double(N)))
        diagnostics.append(Diagnostic(name: "p3o/delta_std", value: deltaStats.standardDeviation))
        diagnostics.append(Diagnostic(name: "p3o/ratio_mean", value: ratios.reduce(0, +) / Double(ratios.count)))
        diagnostics.append(Diagnostic(name: "p3o/ratio_min", value: ratios.min()!))
        diagnostics.append(Diagnostic(name: "p3o/ratio_max", value: ratios.max()!))
        if variant == .jointClipping {
            diagnostics.append(Diagnostic(name: "p3o/pair_ratio_mean", value: pairRatios.reduce(0, +) / Double(N)))
            diagnostics.append(Diagnostic(name: "p3o/pair_ratio_min", value: pairRatios.min()!))
            diagnostics.append(Diagnostic(name: "p3o/pair_ratio_max", value: pairRatios.max()!))
        }
        let clipDenominator = Double(variant == .separateClipping ? 2 * N : N)
        diagnostics.append(Diagnostic(name: "policy/clipfrac_avg", value: Double(clipped) / clipDenominator))
        diagnostics.append(Diagnostic(name: "p3o/weight_mean", value: weightSum / Double(weightCount)))
        diagnostics.append(Diagnostic(name: "p3o/weight_clipfrac", value: Double(weightsClipped) / Double(weightCount)))

        return Result(value: total * scale, firstGradient: firstGradient, secondGradient: secondGradient,
                      diagnostics: diagnostics)
    }
}
