import Foundation

/// The KTO loss (Ethayarajh et al. 2024; TRL `kto_trainer.py`; alignment-losses.md §4.4) on
/// unpaired examples, each labelled desirable or undesirable.
///
/// Per example i, with r_i = s_i − s_ref,i the sequence log-ratio (s = log π_θ(y|x) summed over
/// response tokens, with gradient; s_ref detached) and the reference point z0 detached:
///
///     u_i = β·(r_i − z0)
///     desirable:    ℓ_i = w_D·(1 − σ(u_i))  = w_D·σ(−u_i)      ∂ℓ_i/∂s_i = −w_D·β·σ(u_i)·σ(−u_i)
///     undesirable:  ℓ_i = w_U·(1 − σ(−u_i)) = w_U·σ(u_i)       ∂ℓ_i/∂s_i = +w_U·β·σ(u_i)·σ(−u_i)
///     L = (1/N) Σ_i ℓ_i
///
/// so ℓ_i ∈ [0, w]: a desirable example's loss falls as r_i rises, an undesirable one's rises.
/// z0 = max(0, mean over mismatched pairs (x, y′) of the log-ratio) comes from `referencePoint`
/// and is a constant here, as in TRL (`kl.detach()`, clamped at 0).
///
/// TRL warns unless w_D·n_D / (w_U·n_U) ∈ [1, 4/3]; that check is the trainer's.
///
/// ```swift
/// let z0 = KTO.referencePoint(mismatchedPolicy: [-20.1, -18.4], mismatchedReference: [-20.5, -18.0])
/// let r = KTO.loss(policy: [-12.0, -9.5], reference: [-12.3, -9.0], desirable: [true, false],
///                  referencePoint: z0)
/// r.gradient   // ∂L/∂ log π_θ(y|x) per example
/// ```
public enum KTO {
    /// The loss, its gradient with respect to each example's sequence log-probability, and TRL's
    /// KTO metrics.
    public struct Result: Sendable, Equatable {
        /// L, the mean over all N examples of the weighted per-example losses.
        public var value: Double
        /// ∂value/∂s_i per example, including the 1/N. Every response token gets this gradient.
        public var gradient: [Double]
        /// In order (TRL's names, with TRL's per-side sums already divided by the counts):
        ///
        /// - `rewards/chosen`, `logps/chosen`: mean β·r_i and mean s_i over desirable examples
        ///   (present only when there is at least one).
        /// - `rewards/rejected`, `logps/rejected`: the same over undesirable examples (likewise).
        /// - `rewards/margins`: `rewards/chosen` − `rewards/rejected` (only when both sides exist).
        /// - `kl`: the reference point z0.
        /// - `count/chosen`, `count/rejected`: the number of desirable and undesirable examples.
        public var diagnostics: [Diagnostic]
    }

    /// The KTO loss of N examples against the reference point z0.
    ///
    /// - Parameters:
    ///   - policy: s_i = log π_θ(y_i|x_i) per example, summed over response tokens.
    ///   - reference: log π_ref(y_i|x_i) per example (detached).
    ///   - desirable: the label of each example (true: desirable / chosen).
    ///   - z0: the reference point, detached, usually from `referencePoint` (≥ 0).
    ///   - beta: β (TRL default 0.1).
    ///   - desirableWeight: w_D (TRL default 1).
    ///   - undesirableWeight: w_U (TRL default 1).
    /// - Precondition: at least one example; equal counts; β > 0; weights ≥ 0; z0 finite.
    public static func loss(
        policy: [Double], reference: [Double], desirable: [Bool], referencePoint z0: Double,
        beta: Double = 0.1, desirableWeight: Double = 1, undesirableWeight: Double = 1
    ) -> Result {
        let N = policy.count
        precondition(N > 0, "KTO.loss: no examples")
        precondition(reference.count == N && desirable.count == N,
                     "KTO.loss: counts \(N) policy, \(reference.count) reference, \(desirable.count) labels differ")
        precondition(beta > 0 && beta.isFinite, "KTO.loss: β = \(beta) must be finite and > 0")
        precondition(desirableWeight >= 0 && undesirableWeight >= 0,
                     "KTO.loss: weights \(desirableWeight), \(undesirableWeight) must be ≥ 0")
        precondition(z0.isFinite, "KTO.loss: reference point \(z0) is not finite")
        let inverseN = 1 / Double(N)

        var total = 0.0
        var gradient = [Double](repeating: 0, count: N)
        var chosenReward = 0.0, rejectedReward = 0.0, chosenLogProb = 0.0, rejectedLogProb = 0.0
        var chosenCount = 0, rejectedCount = 0
        for i in 0..<N {
            let r = policy[i] - reference[i]
            let u = beta * (r - z0)
            let curvature = beta * StableMath.sigmoid(u) * StableMath.sigmoid(-u)   // β·σ'(u)
            if desirable[i] {
                total += desirableWeight * StableMath.sigmoid(-u)
                gradient[i] = -desirableWeight * curvature * inverseN
                chosenReward += beta * r
                chosenLogProb += policy[i]
                chosenCount += 1
            } else {
                total += undesirableWeight * StableMath.sigmoid(u)
                gradient[i] = undesirableWeight * curvature * inverseN
                rejectedReward += beta * r
                rejectedLogProb += policy[i]
                rejectedCount += 1
            }
        }

        var diagnostics: [Diagnostic] = []
        if chosenCount > 0 {
            diagnostics.append(Diagnostic(name: "rewards/chosen", value: chosenReward / Double(chosenCount)))
            diagnostics.append(Diagnostic(name: "logps/chosen", value: chosenLogProb / Double(chosenCount)))
        }
        if rejectedCount > 0 {
            diagnostics.append(Diagnostic(name: "rewards/rejected", value: rejectedReward / Double(rejectedCount)))
            diagnostics.append(Diagnostic(name: "logps/rejected", value: rejectedLogProb / Double(rejectedCount)))
        }
        if chosenCount > 0, rejectedCount > 0 {
            diagnostics.append(Diagnostic(name: "rewards/margins",
                                          value: chosenReward / Double(chosenCount) - rejectedReward / Double(rejectedCount)))
        }
        diagnostics.append(Diagnostic(name: "kl", value: z0))
        diagnostics.append(Diagnostic(name: "count/chosen", value: Double(chosenCount)))
        diagnostics.append(Diagnostic(name: "count/rejected", value: Double(rejectedCount)))
        return Result(value: total * inverseN, gradient: gradient, diagnostics: diagnostics)
    }

    /// The reference point z0 = max(0, mean_j (s_j − s_ref,j)) over mismatched (x, y′) pairs (TRL:
    /// each prompt paired with another example's completion), to be treated as a constant.
    ///
    /// - Parameters:
    ///   - mismatchedPolicy: log π_θ(y′|x) per mismatched pair, summed over response tokens.
    ///   - mismatchedReference: log π_ref(y′|x) per mismatched pair.
    /// - Precondition: at least one pair; equal counts.
    public static func referencePoint(mismatchedPolicy: [Double], mismatchedReference: [Double]) -> Double {
        precondition(!mismatchedPolicy.isEmpty, "KTO.referencePoint: no mismatched pairs")
        precondition(mismatchedPolicy.count == mismatchedReference.count,
                     "KTO.referencePoint: \(mismatchedPolicy.count) policy vs \(mismatchedReference.count) reference log-probs")
        var sum = 0.0
        for j in mismatchedPolicy.indices { sum += mismatchedPolicy[j] - mismatchedReference[j] }
        return max(0, sum / Double(mismatchedPolicy.count))
    }
}
