import Foundation

/// The direct alignment losses of the DPO family on sequence log-probabilities (alignment-losses.md
/// §4.1–4.5): DPO, cDPO, robust DPO, IPO, hinge (SLiC), each optionally with RPO's SFT term.
///
/// Per pair i, with s = log π_θ(y|x) (with gradient) and s_ref = log π_ref(y|x) (detached), both
/// **summed** over the response tokens (prompt masked), and β > 0:
///
///     ℓ_w = s_w − s_ref,w,   ℓ_l = s_l − s_ref,l,   h = ℓ_w − ℓ_l,   z = β·h
///     sigmoid (DPO):            g = −log σ(z)                              g'(h) = −β·σ(−z)
///     conservative(ε) (cDPO):   g = (1−ε)(−log σ(z)) + ε(−log σ(−z))       g'(h) = β·(−(1−ε)·σ(−z) + ε·σ(z))
///     robust(ε):                g = [(1−ε)(−log σ(z)) − ε(−log σ(−z))]/(1−2ε)
///                                                                       g'(h) = β·(−(1−ε)·σ(−z) − ε·σ(z))/(1−2ε)
///     ipo (τ = β):              g = (h − 1/(2τ))²                          g'(h) = 2(h − 1/(2τ))
///     hinge:                    g = max(0, 1 − z)                          g'(h) = −β·𝟙[z < 1]
///
///     L = (1/N) Σ_i g(h_i)  [+ RPO term],     ∂L/∂s_w,i = g'(h_i)/N,   ∂L/∂s_l,i = −g'(h_i)/N
///
/// −log σ is evaluated as softplus(−z), so no log-ratio overflows. `sigmoid` is evaluated as
/// `conservative(labelSmoothing: 0)`, so the two agree bit for bit.
///
/// - **IPO** uses β as τ (TRL's parametrisation) and, by default, the **summed** log-ratios of Azar
///   et al. Eq. 17 and OpenRLHF (alignment-losses.md §10b). This departs from TRL, which
///   length-normalises: `ipo(lengthNormalized: true)` divides ℓ_w and ℓ_l by the response lengths
///   (per-token means, needs `chosenLengths` and `rejectedLengths`), so ∂L/∂s_w gets a 1/|y_w|.
///   The DAA paper's `(βh − 1)²` is this loss up to scale with its β = 2τ.
/// - **RPO** (Liu et al. 2024, §4.5) adds, per pair, `cumulative`: η·β·(−s_w) (summed NLL of y_w;
///   the paper and alignment-handbook), or `average`: η·(−s_w/|y_w|) (token-mean NLL of y_w; OpenRLHF,
///   TRL's `sft` loss term), then the mean over pairs. So ∂L/∂s_w,i gains −ηβ/N or −η/(N·|y_w,i|),
///   and at equal η the cumulative term is β·|y_w| times the average one. η = 0 reproduces the
///   loss without RPO bit for bit.
///
/// ```swift
/// let r = DirectPreference.loss(kind: .sigmoid, policyChosen: [-12.0], policyRejected: [-15.0],
///                               referenceChosen: [-12.5], referenceRejected: [-14.0], beta: 0.1)
/// r.chosenGradient     // ∂L/∂ log π_θ(y_w|x) per pair: chain to every response token of y_w
/// r.diagnostics.value(named: "rewards/margins")
/// ```
public enum DirectPreference {
    /// Which per-pair loss g(h) (TRL `loss_type` names in the comments).
    public enum Kind: Sendable, Codable, Equatable {
        /// DPO, −log σ(βh) (TRL `sigmoid`).
        case sigmoid
        /// cDPO, DPO against labels flipped with probability ε ∈ [0, 0.5] (TRL `sigmoid` with
        /// `label_smoothing`); finite minimiser σ(βh*) = 1 − ε.
        case conservative(labelSmoothing: Double)
        /// Robust DPO (Chowdhury et al. 2024; TRL `robust`), ε ∈ [0, 0.5): unbiased under flips,
        /// (1−ε)·L(h) + ε·L(−h) = −log σ(βh).
        case robust(labelSmoothing: Double)
        /// IPO (Azar et al. 2023; TRL `ipo`) with τ = β: (h − 1/(2τ))². Summed log-ratios, or TRL's
        /// per-token means when `lengthNormalized`.
        case ipo(lengthNormalized: Bool)
        /// Hinge / SLiC (TRL `hinge`): max(0, 1 − βh).
        case hinge
    }

    /// RPO's SFT (NLL) term on the chosen responses (alignment-losses.md §4.5, §10b).
    public enum RPOTerm: Sendable, Codable, Equatable {
        /// η·β·(−Σ_t log π_θ(y_w,t)) per pair (main paper, alignment-handbook; η = 0.005 with β = 0.01).
        case cumulative(eta: Double)
        /// η·(−mean_t log π_θ(y_w,t)) per pair (OpenRLHF, paper App. F; η = 0.2 with β = 0.5); needs
        /// `chosenLengths`.
        case average(eta: Double)
    }

    /// The loss, its gradient with respect to each response's sequence log-probability, and TRL's
    /// DPO metrics.
    public struct Result: Sendable, Equatable {
        /// L, the mean over pairs (plus the RPO term when asked for).
        public var value: Double
        /// ∂value/∂s_w per pair, s_w = log π_θ(y_w|x) summed over response tokens, including the 1/N.
        /// Every response token of y_w gets this gradient on its log-prob.
        public var chosenGradient: [Double]
        /// ∂value/∂s_l per pair, likewise for y_l.
        public var rejectedGradient: [Double]
        /// In order (TRL `DPOTrainer` names):
        ///
        /// - `rewards/chosen`, `rewards/rejected`: mean implicit reward r̂ = β·ℓ of each side.
        /// - `rewards/accuracies`: share of pairs with r̂_w > r̂_l strictly (ties count as wrong).
        /// - `rewards/margins`: mean of r̂_w − r̂_l = β·h.
        /// - `logps/chosen`, `logps/rejected`: mean policy sequence log-prob of each side.
        /// - with RPO only: `loss/dpo` (the preference part of `value`) and `nll_loss` (the mean NLL
        ///   before weighting: −s_w for `cumulative`, −s_w/|y_w| for `average`).
        ///
        /// For `ipo(lengthNormalized: true)` the rewards and log-probs are per-token means, as in TRL.
        public var diagnostics: [Diagnostic]
    }

    /// The DPO-family loss of `kind` over N pairs (alignment-losses.md §4).
    ///
    /// - Parameters:
    ///   - kind: the per-pair loss g.
    ///   - policyChosen: s_w = log π_θ(y_w|x) per pair, summed over response tokens.
    ///   - policyRejected: s_l = log π_θ(y_l|x) per pair.
    ///   - referenceChosen: log π_ref(y_w|x) per pair (detached).
    ///   - referenceRejected: log π_ref(y_l|x) per pair (detached).
    ///   - beta: β (τ for IPO); DPO recipes use 0.01–0.5.
    ///   - chosenLengths: |y_w| per pair (response tokens, EOS included), for length-normalised IPO
    ///     and RPO `average`.
    ///   - rejectedLengths: |y_l| per pair, for length-normalised IPO.
    ///   - rpo: RPO's SFT term on y_w, or nil.
    /// - Precondition: at least one pair; equal counts; β > 0; ε in range; lengths > 0 and present
    ///   where needed.
    public static func loss(
        kind: Kind, policyChosen: [Double], policyRejected: [Double],
        referenceChosen: [Double], referenceRejected: [Double], beta: Double,
        chosenLengths: [Int]? = nil, rejectedLengths: [Int]? = nil, rpo: RPOTerm? = nil
    ) -> Result {
        let N = policyChosen.count
        precondition(N > 0, "DirectPreference.loss: no pairs")
        precondition(policyRejected.count == N && referenceChosen.count == N && referenceRejected.count == N,
                     "DirectPreference.loss: counts \(N), \(policyRejected.count), \(referenceChosen.count), \(referenceRejected.count) differ")
        precondition(beta > 0 && beta.isFinite, "DirectPreference.loss: β = \(beta) must be finite and > 0")
        checkLengths(chosenLengths, name: "chosen", count: N)
        checkLengths(rejectedLengths, name: "rejected", count: N)
        let normalized = kind == .ipo(lengthNormalized: true)
        precondition(!normalized || (chosenLengths != nil && rejectedLengths != nil),
                     "DirectPreference.loss: length-normalised IPO needs chosenLengths and rejectedLengths")
        if case .average = rpo {
            precondition(chosenLengths != nil, "DirectPreference.loss: RPO average needs chosenLengths")
        }
        let inverseN = 1 / Double(N)

        var preference = 0.0
        var chosenGradient = [Double](repeating: 0, count: N)
        var rejectedGradient = [Double](repeating: 0, count: N)
        var chosenLogRatios = [Double](repeating: 0, count: N)
        var rejectedLogRatios = [Double](repeating: 0, count: N)
        var chosenScales = [Double](repeating: 1, count: N)
        var rejectedScales = [Double](repeating: 1, count: N)
        for i in 0..<N {
            if normalized, let chosenLengths, let rejectedLengths {
                chosenScales[i] = 1 / Double(chosenLengths[i])
                rejectedScales[i] = 1 / Double(rejectedLengths[i])
            }
            chosenLogRatios[i] = (policyChosen[i] - referenceChosen[i]) * chosenScales[i]
            rejectedLogRatios[i] = (policyRejected[i] - referenceRejected[i]) * rejectedScales[i]
            let (g, slope) = pairLoss(kind, h: chosenLogRatios[i] - rejectedLogRatios[i], beta: beta)
            preference += g
            chosenGradient[i] = slope * chosenScales[i] * inverseN
            rejectedGradient[i] = -slope * rejectedScales[i] * inverseN
        }
        var value = preference * inverseN

        var rpoDiagnostics: [Diagnostic] = []
        if let rpo {
            // Per pair: weight · NLL, NLL = −s_w (cumulative) or −s_w/|y_w| (average).
            let weight: Double, lengths: [Int]?
            switch rpo {
            case .cumulative(let eta): (weight, lengths) = (eta * beta, nil)
            case .average(let eta): (weight, lengths) = (eta, chosenLengths)
            }
            var nll = 0.0
            for i in 0..<N {
                let perToken = lengths.map { 1 / Double($0[i]) } ?? 1
                nll += -policyChosen[i] * perToken
                chosenGradient[i] += -weight * perToken * inverseN
            }
            rpoDiagnostics = [
                Diagnostic(name: "loss/dpo", value: value),
                Diagnostic(name: "nll_loss", value: nll * inverseN),
            ]
            value += weight * nll * inverseN
        }

        let chosenLogProbs = (0..<N).map { policyChosen[$0] * chosenScales[$0] }
        let rejectedLogProbs = (0..<N).map { policyRejected[$0] * rejectedScales[$0] }
        return Result(
            value: value, chosenGradient: chosenGradient, rejectedGradient: rejectedGradient,
            diagnostics: diagnostics(chosenLogRatios: chosenLogRatios, rejectedLogRatios: rejectedLogRatios,
                                     chosenLogProbs: chosenLogProbs, rejectedLogProbs: rejectedLogProbs, beta: beta)
                + rpoDiagnostics)
    }

    /// g(h) and g'(h) for one pair (see the type's table).
    static func pairLoss(_ kind: Kind, h: Double, beta: Double) -> (value: Double, slope: Double) {
        let z = beta * h
        switch kind {
        case .sigmoid:
            return pairLoss(.conservative(labelSmoothing: 0), h: h, beta: beta)
        case .conservative(let epsilon):
            precondition((0...0.5).contains(epsilon), "DirectPreference.loss: cDPO label smoothing \(epsilon) outside [0, 0.5]")
            let value = (1 - epsilon) * StableMath.softplus(-z) + epsilon * StableMath.softplus(z)
            return (value, beta * (-(1 - epsilon) * StableMath.sigmoid(-z) + epsilon * StableMath.sigmoid(z)))
        case .robust(let epsilon):
            precondition(epsilon >= 0 && epsilon < 0.5, "DirectPreference.loss: robust label smoothing \(epsilon) outside [0, 0.5)")
            let scale = 1 / (1 - 2 * epsilon)
            let value = ((1 - epsilon) * StableMath.softplus(-z) - epsilon * StableMath.softplus(z)) * scale
            return (value, beta * (-(1 - epsilon) * StableMath.sigmoid(-z) - epsilon * StableMath.sigmoid(z)) * scale)
        case .ipo:
            let gap = h - 1 / (2 * beta)
            return (gap * gap, 2 * gap)
        case .hinge:
            return z < 1 ? (1 - z, -beta) : (0, 0)
        }
    }

    /// TRL's DPO metrics (see `Result.diagnostics`).
    static func diagnostics(
        chosenLogRatios: [Double], rejectedLogRatios: [Double],
        chosenLogProbs: [Double], rejectedLogProbs: [Double], beta: Double
    ) -> [Diagnostic] {
        let N = Double(chosenLogRatios.count)
        var chosenReward = 0.0, rejectedReward = 0.0, margin = 0.0, chosenLogProb = 0.0, rejectedLogProb = 0.0
        var correct = 0
        for i in chosenLogRatios.indices {
            let rw = beta * chosenLogRatios[i], rl = beta * rejectedLogRatios[i]
            chosenReward += rw
            rejectedReward += rl
            margin += rw - rl
            if rw > rl { correct += 1 }
            chosenLogProb += chosenLogProbs[i]
            rejectedLogProb += rejectedLogProbs[i]
        }
        return [
            Diagnostic(name: "rewards/chosen", value: chosenReward / N),
            Diagnostic(name: "rewards/rejected", value: rejectedReward / N),
            Diagnostic(name: "rewards/accuracies", value: Double(correct) / N),
            Diagnostic(name: "rewards/margins", value: margin / N),
            Diagnostic(name: "logps/chosen", value: chosenLogProb / N),
            Diagnostic(name: "logps/rejected", value: rejectedLogProb / N),
        ]
    }

    private static func checkLengths(_ lengths: [Int]?, name: String, count: Int) {
        guard let lengths else { return }
        precondition(lengths.count == count, "DirectPreference.loss: \(lengths.count) \(name) lengths for \(count) pairs")
        precondition(lengths.allSatisfy { $0 > 0 }, "DirectPreference.loss: a \(name) length is not positive")
    }
}
