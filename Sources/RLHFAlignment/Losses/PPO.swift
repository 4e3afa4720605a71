import Foundation

/// PPO for language models (alignment-losses.md §3): the clipped policy surrogate and the clipped
/// value loss on per-token arrays, plus reward shaping, GAE and whitening (`PPO+Advantages.swift`)
/// and the adaptive KL controller (`PPO+AdaptiveKLController.swift`).
///
/// Per-token inputs are ragged: one array per response holding only its response tokens (EOS
/// included; prompt and padding never appear), so no masks are needed, and token gradients come
/// back in the same shape. With T = the total number of tokens of the minibatch, log ρ_t =
/// log π_θ(y_t|·) − log π_old(y_t|·), ρ_t = exp(log ρ_t), advantages A_t and returns G_t detached:
///
///     L_π = (1/T) Σ_t max( −A_t·ρ_t , −A_t·clip(ρ_t, 1−ε, 1+ε) )
///     V^clip_t = clip(V_t, V_old,t − ε_v, V_old,t + ε_v)
///     L_V = ½ · (1/T) Σ_t max( (V_t − G_t)² , (V^clip_t − G_t)² )
///
///     ∂L_π/∂log π_θ(y_t) = −A_t·ρ_t·m_t / T        ∂L_V/∂V_t = (V_t − G_t)·m^V_t / T
///
/// where m = 0 exactly when the clipped branch is strictly larger (A > 0 and ρ > 1+ε, or A < 0 and
/// ρ < 1−ε; for the value loss (V^clip − G)² > (V − G)², which needs V outside the clip range);
/// a tie counts as unclipped. A token with A = 0 contributes exactly 0 (no 0·∞ at ρ = +∞).
///
/// **One mean over all response tokens of the minibatch** (alignment-losses.md §10b), not a
/// per-sequence mean averaged over sequences; this is TRL's `masked_mean` over the whole batch.
///
/// ```swift
/// let p = PPO.policyLoss(logProbs: [[-1.0, -2.1]], oldLogProbs: [[-1.1, -2.0]], advantages: [[0.5, -0.3]])
/// p.gradient          // ∂L_π/∂ log π_θ per token, same ragged shape
/// p.diagnostics.value(named: "policy/clipfrac_avg")
/// ```
public enum PPO {
    /// The clipped policy loss, its per-token gradient and TRL's PPO policy metrics.
    public struct PolicyResult: Sendable, Equatable {
        /// L_π, the mean over all response tokens of the minibatch.
        public var value: Double
        /// ∂value/∂log π_θ(y_t|·) per token (including the 1/T), in the shape of `logProbs`.
        public var gradient: [[Double]]
        /// In order:
        ///
        /// - `policy/clipfrac_avg`: share of tokens whose clipped branch is strictly selected (m = 0;
        ///   TRL's `(pg_losses2 > pg_losses).float()` mean).
        /// - `policy/approxkl_avg`: mean over tokens of ½(log ρ_t)² (TRL's approximate KL to π_old).
        /// - `policy/ratio_mean`: mean of ρ_t (unclipped; +∞ past log ρ ≈ 709).
        public var diagnostics: [Diagnostic]
    }

    /// The clipped value loss, its per-token gradient and TRL's value metrics.
    public struct ValueResult: Sendable, Equatable {
        /// L_V, including the ½.
        public var value: Double
        /// ∂value/∂V_t per token (including the ½ and the 1/T), in the shape of `values`.
        public var gradient: [[Double]]
        /// In order:
        ///
        /// - `val/clipfrac_avg`: share of tokens whose clipped squared error is strictly larger
        ///   (TRL's `(vf_losses2 > vf_losses1).float()` mean).
        /// - `val/mean`: mean of the predicted values V_t.
        public var diagnostics: [Diagnostic]
    }

    /// The PPO clipped surrogate L_π (alignment-losses.md §3.3), one mean over all tokens.
    ///
    /// - Parameters:
    ///   - logProbs: log π_θ(y_t|·) per response token, with gradient.
    ///   - oldLogProbs: log π_old(y_t|·) at rollout time, same shape (detached).
    ///   - advantages: A_t per token, same shape (detached; e.g. GAE, then `whiten`).
    ///   - epsilon: ε of the ratio clip (`cliprange`, 0.2 everywhere in §3.6).
    /// - Precondition: at least one token; all three arrays have the same ragged shape; 0 ≤ ε < 1.
    public static func policyLoss(
        logProbs: [[Double]], oldLogProbs: [[Double]], advantages: [[Double]], clip epsilon: Double = 0.2
    ) -> PolicyResult {
        precondition(RaggedTokens.sameShape(logProbs, oldLogProbs) && RaggedTokens.sameShape(logProbs, advantages),
                     "PPO.policyLoss: log-probs (\(RaggedTokens.describe(logProbs))), old log-probs (\(RaggedTokens.describe(oldLogProbs))) and advantages (\(RaggedTokens.describe(advantages))) differ in shape")
        let T = RaggedTokens.tokenCount(logProbs)
        precondition(T > 0, "PPO.policyLoss: no response tokens")
        precondition(epsilon >= 0 && epsilon < 1, "PPO.policyLoss: clip \(epsilon) outside [0, 1)")
        let scale = 1 / Double(T)
        let low = 1 - epsilon, high = 1 + epsilon

        var total = 0.0, approximateKL = 0.0, ratioSum = 0.0
        var clipped = 0
        var gradient = RaggedTokens.zeros(like: logProbs)
        for i in logProbs.indices {
            for t in logProbs[i].indices {
                let logRho = logProbs[i][t] - oldLogProbs[i][t]
                let rho = exp(logRho)
                let a = advantages[i][t]
                ratioSum += rho
                approximateKL += 0.5 * logRho * logRho
                // m = 0 iff −A·clip(ρ) > −A·ρ strictly.
                let isClipped = (a > 0 && rho > high) || (a < 0 && rho < low)
                if isClipped { clipped += 1 }
                guard a != 0 else { continue }
                total += -a * (isClipped ? min(max(rho, low), high) : rho)
                if !isClipped { gradient[i][t] = -a * rho * scale }
            }
        }
        let diagnostics = [
            Diagnostic(name: "policy/clipfrac_avg", value: Double(clipped) / Double(T)),
            Diagnostic(name: "policy/approxkl_avg", value: approximateKL * scale),
            Diagnostic(name: "policy/ratio_mean", value: ratioSum * scale),
        ]
        return PolicyResult(value: total * scale, gradient: gradient, diagnostics: diagnostics)
    }

    /// The clipped value loss L_V (alignment-losses.md §3.3), one mean over all tokens, with the ½.
    ///
    /// - Parameters:
    ///   - values: V_θ,t per response token, with gradient.
    ///   - oldValues: V_old,t at rollout time, same shape (detached).
    ///   - returns: value targets G_t = A_t + V_old,t (e.g. from `generalizedAdvantages`), same shape.
    ///   - range: ε_v of the value clip (`cliprange_value`: 0.2 in TRL, 0.5 in OpenRLHF and verl).
    /// - Precondition: at least one token; all three arrays have the same ragged shape; ε_v ≥ 0.
    public static func valueLoss(
        values: [[Double]], oldValues: [[Double]], returns: [[Double]], clip range: Double = 0.2
    ) -> ValueResult {
        precondition(RaggedTokens.sameShape(values, oldValues) && RaggedTokens.sameShape(values, returns),
                     "PPO.valueLoss: values (\(RaggedTokens.describe(values))), old values (\(RaggedTokens.describe(oldValues))) and returns (\(RaggedTokens.describe(returns))) differ in shape")
        let T = RaggedTokens.tokenCount(values)
        precondition(T > 0, "PPO.valueLoss: no response tokens")
        precondition(range >= 0, "PPO.valueLoss: value clip \(range) < 0")
        let scale = 1 / Double(T)

        var total = 0.0, valueSum = 0.0
        var clipped = 0
        var gradient = RaggedTokens.zeros(like: values)
        for i in values.indices {
            for t in values[i].indices {
                let v = values[i][t], old = oldValues[i][t], g = returns[i][t]
                let vClipped = min(max(v, old - range), old + range)
                let unclippedError = (v - g) * (v - g)
                let clippedError = (vClipped - g) * (vClipped - g)
                valueSum += v
                // Strictly larger clipped error implies V outside the range, where ∂V^clip/∂V = 0.
                let isClipped = clippedError > unclippedError
                if isClipped { clipped += 1 }
                total += 0.5 * max(unclippedError, clippedError)
                if !isClipped { gradient[i][t] = (v - g) * scale }
            }
        }
        let diagnostics = [
            Diagnostic(name: "val/clipfrac_avg", value: Double(clipped) / Double(T)),
            Diagnostic(name: "val/mean", value: valueSum * scale),
        ]
        return ValueResult(value: total * scale, gradient: gradient, diagnostics: diagnostics)
    }
}
