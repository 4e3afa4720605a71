import Foundation
@testable import RLHFAlignment
import Testing

/// Six pairs of summed sequence log-probs; with β = 0.5 the hinge is active (βh < 1) in pairs
/// 0, 1, 3, 4 and inactive (βh ≥ 1) in pairs 2 and 5.
private enum Pairs {
    static let policyChosen: [Double] = [-12.0, -30.5, -8.0, -21.0, -15.2, -5.0]
    static let policyRejected: [Double] = [-14.0, -29.0, -13.0, -20.0, -15.0, -9.5]
    static let referenceChosen: [Double] = [-12.5, -30.0, -9.0, -20.0, -15.0, -6.0]
    static let referenceRejected: [Double] = [-13.5, -29.5, -10.0, -21.5, -14.9, -8.0]
    static let chosenLengths = [7, 19, 4, 12, 9, 3]
    static let rejectedLengths = [9, 15, 8, 10, 9, 6]
    static var h: [Double] {
        (0..<6).map { (policyChosen[$0] - referenceChosen[$0]) - (policyRejected[$0] - referenceRejected[$0]) }
    }
}

private let kinds: [DirectPreference.Kind] = [
    .sigmoid, .conservative(labelSmoothing: 0.1), .robust(labelSmoothing: 0.2),
    .ipo(lengthNormalized: false), .ipo(lengthNormalized: true), .hinge,
]
private let rpoTerms: [DirectPreference.RPOTerm?] = [nil, .cumulative(eta: 0.3), .average(eta: 0.7)]

private func pairsLoss(_ kind: DirectPreference.Kind, beta: Double = 0.5, rpo: DirectPreference.RPOTerm? = nil,
                       policyChosen: [Double] = Pairs.policyChosen, policyRejected: [Double] = Pairs.policyRejected) -> DirectPreference.Result {
    DirectPreference.loss(kind: kind, policyChosen: policyChosen, policyRejected: policyRejected,
                          referenceChosen: Pairs.referenceChosen, referenceRejected: Pairs.referenceRejected, beta: beta,
                          chosenLengths: Pairs.chosenLengths, rejectedLengths: Pairs.rejectedLengths, rpo: rpo)
}

/// One pair with log-ratio difference h (reference 0, rejected log-ratio 0).
private func single(_ kind: DirectPreference.Kind, h: Double, beta: Double) -> DirectPreference.Result {
    DirectPreference.loss(kind: kind, policyChosen: [h], policyRejected: [0], referenceChosen: [0], referenceRejected: [0],
                          beta: beta)
}

@Suite("DPO-family direct preference losses")
struct DirectPreferenceTests {
    /// The per-pair losses written out naively.
    func naive(_ kind: DirectPreference.Kind, h: Double, beta: Double) -> Double {
        let sigma = { (x: Double) in 1 / (1 + exp(-x)) }
        let z = beta * h
        switch kind {
        case .sigmoid: return -log(sigma(z))
        case .conservative(let e): return -(1 - e) * log(sigma(z)) - e * log(sigma(-z))
        case .robust(let e): return (-(1 - e) * log(sigma(z)) + e * log(sigma(-z))) / (1 - 2 * e)
        case .ipo: return (h - 1 / (2 * beta)) * (h - 1 / (2 * beta))
        case .hinge: return max(0, 1 - z)
        }
    }

    @Test(arguments: kinds)
    func valueMatchesTheNaiveFormula(kind: DirectPreference.Kind) {
        let result = pairsLoss(kind)
        var total = 0.0
        for i in 0..<6 {
            var h = Pairs.h[i]
            if kind == .ipo(lengthNormalized: true) {
                h = (Pairs.policyChosen[i] - Pairs.referenceChosen[i]) / Double(Pairs.chosenLengths[i])
                    - (Pairs.policyRejected[i] - Pairs.referenceRejected[i]) / Double(Pairs.rejectedLengths[i])
            }
            total += naive(kind, h: h, beta: 0.5)
        }
        #expect(isClose(result.value, total / 6))
    }

    @Test(arguments: kinds, rpoTerms)
    func gradientsMatchCentralFiniteDifferences(kind: DirectPreference.Kind, rpo: DirectPreference.RPOTerm?) {
        let result = pairsLoss(kind, rpo: rpo)
        for i in 0..<6 {
            let dChosen = DoubleFiniteDifference.partial(at: Pairs.policyChosen, index: i) {
                pairsLoss(kind, rpo: rpo, policyChosen: $0).value
            }
            let dRejected = DoubleFiniteDifference.partial(at: Pairs.policyRejected, index: i) {
                pairsLoss(kind, rpo: rpo, policyRejected: $0).value
            }
            #expect(isClose(result.chosenGradient[i], dChosen, tolerance: 1e-7), "chosen \(i)")
            #expect(isClose(result.rejectedGradient[i], dRejected, tolerance: 1e-7), "rejected \(i)")
        }
        if kind == .hinge {
            // Both sides of the hinge are present.
            #expect(result.rejectedGradient.contains(0) && result.rejectedGradient.contains { $0 != 0 })
        }
    }

    // MARK: §11 item 13 (DPO)

    @Test(arguments: [0.01, 0.1, 0.5, 3.0])
    func dpoIsLogTwoAtTheReferenceWithSignedGradients(beta: Double) {
        let result = DirectPreference.loss(kind: .sigmoid, policyChosen: Pairs.referenceChosen, policyRejected: Pairs.referenceRejected,
                                           referenceChosen: Pairs.referenceChosen, referenceRejected: Pairs.referenceRejected, beta: beta)
        #expect(isClose(result.value, log(2.0)))
        for i in 0..<6 {
            #expect(isClose(result.chosenGradient[i], -beta * 0.5 / 6))
            #expect(isClose(result.rejectedGradient[i], beta * 0.5 / 6))
        }
        let offPolicy = pairsLoss(.sigmoid, beta: beta)
        for i in 0..<6 {
            let z = beta * Pairs.h[i]
            #expect(isClose(offPolicy.chosenGradient[i], -beta / (1 + exp(z)) / 6))   // −βσ(−βh)/N
            #expect(offPolicy.chosenGradient[i] < 0 && offPolicy.rejectedGradient[i] > 0)
        }
    }

    /// A tabular softmax policy over 6 single-token responses: one SGD step on the DPO loss raises h.
    @Test(arguments: [DirectPreference.Kind.sigmoid, .conservative(labelSmoothing: 0.2), .robust(labelSmoothing: 0.3),
                      .ipo(lengthNormalized: false), .hinge])
    func oneSGDStepOnATabularPolicyIncreasesH(kind: DirectPreference.Kind) {
        let referenceLogits: [Double] = [0.2, -0.5, 1.0, 0.0, 0.3, -1.2]
        var logits: [Double] = [0.5, -0.1, 0.8, 0.4, 0.0, -0.9]
        func logSoftmax(_ x: [Double]) -> [Double] {
            let m = x.max()!, z = x.map { exp($0 - m) }.reduce(0, +)
            return x.map { $0 - m - log(z) }
        }
        let reference = logSoftmax(referenceLogits)
        let (w, l) = (1, 3)
        func h(_ theta: [Double]) -> Double {
            let s = logSoftmax(theta)
            return (s[w] - reference[w]) - (s[l] - reference[l])
        }
        let before = h(logits)
        let s = logSoftmax(logits)
        let result = DirectPreference.loss(kind: kind, policyChosen: [s[w]], policyRejected: [s[l]],
                                           referenceChosen: [reference[w]], referenceRejected: [reference[l]], beta: 0.1)
        let pi = s.map { exp($0) }
        for v in logits.indices {
            // ∂ log π(y)/∂θ_v = 𝟙[v = y] − π_v.
            let grad = result.chosenGradient[0] * ((v == w ? 1 : 0) - pi[v]) + result.rejectedGradient[0] * ((v == l ? 1 : 0) - pi[v])
            logits[v] -= 0.5 * grad
        }
        #expect(h(logits) > before)
    }

    @Test func swappingChosenAndRejectedMapsHToMinusH() {
        let a = pairsLoss(.sigmoid)
        let b = DirectPreference.loss(kind: .sigmoid, policyChosen: Pairs.policyRejected, policyRejected: Pairs.policyChosen,
                                      referenceChosen: Pairs.referenceRejected, referenceRejected: Pairs.referenceChosen, beta: 0.5)
        #expect(isClose(b.diagnostics.value(named: "rewards/margins")!, -a.diagnostics.value(named: "rewards/margins")!))
        let swapped = Pairs.h.map { StableMath.softplus(0.5 * $0) }.reduce(0, +) / 6   // −log σ(−βh)
        #expect(isClose(b.value, swapped))
        #expect(b.diagnostics.value(named: "rewards/accuracies")! == 1 - a.diagnostics.value(named: "rewards/accuracies")!)
    }

    @Test func implicitRewardsAreBetaTimesTheLogRatio() {
        let beta = 0.5
        let result = pairsLoss(.sigmoid, beta: beta)
        let d = result.diagnostics
        #expect(d.map(\.name) == ["rewards/chosen", "rewards/rejected", "rewards/accuracies", "rewards/margins",
                                  "logps/chosen", "logps/rejected"])
        let chosen = (0..<6).map { beta * (Pairs.policyChosen[$0] - Pairs.referenceChosen[$0]) }
        let rejected = (0..<6).map { beta * (Pairs.policyRejected[$0] - Pairs.referenceRejected[$0]) }
        #expect(isClose(d.value(named: "rewards/chosen")!, chosen.reduce(0, +) / 6))
        #expect(isClose(d.value(named: "rewards/rejected")!, rejected.reduce(0, +) / 6))
        #expect(isClose(d.value(named: "rewards/margins")!, Pairs.h.reduce(0, +) * beta / 6))
        #expect(d.value(named: "rewards/accuracies") == Double(Pairs.h.filter { $0 > 0 }.count) / 6)
        #expect(isClose(d.value(named: "logps/chosen")!, Pairs.policyChosen.reduce(0, +) / 6))
        // A tie counts as wrong.
        let tie = single(.sigmoid, h: 0, beta: 0.3)
        #expect(tie.diagnostics.value(named: "rewards/accuracies") == 0)
    }

    // MARK: §11 items 15–16 (cDPO, robust, IPO, hinge)

    @Test(arguments: [0.05, 0.1, 0.25, 0.4])
    func cDPOIsMinimisedWhereSigmaOfBetaHIsOneMinusEpsilon(epsilon: Double) {
        let beta = 0.2
        let hStar = log((1 - epsilon) / epsilon) / beta
        let atMinimum = single(.conservative(labelSmoothing: epsilon), h: hStar, beta: beta)
        #expect(abs(atMinimum.chosenGradient[0]) < 1e-12)
        #expect(isClose(StableMath.sigmoid(beta * hStar), 1 - epsilon))
        for offset in [-0.5, 0.5] {
            #expect(single(.conservative(labelSmoothing: epsilon), h: hStar + offset, beta: beta).value > atMinimum.value)
        }
    }

    @Test func cDPOAndRobustDPOWithZeroSmoothingAreDPOExactly() {
        let dpo = pairsLoss(.sigmoid)
        for kind in [DirectPreference.Kind.conservative(labelSmoothing: 0), .robust(labelSmoothing: 0)] {
            let other = pairsLoss(kind)
            #expect(other.value == dpo.value)
            #expect(other.chosenGradient == dpo.chosenGradient)
            #expect(other.rejectedGradient == dpo.rejectedGradient)
        }
    }

    /// Robust DPO is unbiased: (1−ε)·L(h) + ε·L(−h) = −log σ(βh), for random h and ε ∈ (0, 0.5).
    @Test func robustDPOIsUnbiasedUnderLabelFlips() {
        let hs = uniformValues(20, seed: 31, in: -30...30)
        let epsilons = uniformValues(20, seed: 32, in: 0.01...0.49)
        for (h, epsilon) in zip(hs, epsilons) {
            let kind = DirectPreference.Kind.robust(labelSmoothing: epsilon)
            let expected = (1 - epsilon) * single(kind, h: h, beta: 0.3).value + epsilon * single(kind, h: -h, beta: 0.3).value
            #expect(isClose(expected, single(.sigmoid, h: h, beta: 0.3).value, tolerance: 1e-12))
        }
    }

    @Test(arguments: [0.05, 0.1, 0.5, 2.0])
    func ipoIsMinimisedAtOneOverTwoTau(tau: Double) {
        let atZero = single(.ipo(lengthNormalized: false), h: 0, beta: tau)
        #expect(isClose(atZero.value, 1 / (4 * tau * tau)))
        let atMinimum = single(.ipo(lengthNormalized: false), h: 1 / (2 * tau), beta: tau)
        #expect(atMinimum.value == 0 && atMinimum.chosenGradient[0] == 0 && atMinimum.rejectedGradient[0] == 0)
    }

    @Test func lengthNormalizedIPOUsesPerTokenMeans() {
        let normalized = pairsLoss(.ipo(lengthNormalized: true))
        // Same loss as summed IPO on log-probs pre-divided by the lengths.
        let c = Pairs.chosenLengths.map(Double.init), r = Pairs.rejectedLengths.map(Double.init)
        let summed = DirectPreference.loss(
            kind: .ipo(lengthNormalized: false),
            policyChosen: (0..<6).map { Pairs.policyChosen[$0] / c[$0] }, policyRejected: (0..<6).map { Pairs.policyRejected[$0] / r[$0] },
            referenceChosen: (0..<6).map { Pairs.referenceChosen[$0] / c[$0] }, referenceRejected: (0..<6).map { Pairs.referenceRejected[$0] / r[$0] },
            beta: 0.5)
        #expect(isClose(normalized.value, summed.value))
        for i in 0..<6 {
            #expect(isClose(normalized.chosenGradient[i], summed.chosenGradient[i] / c[i]))
            #expect(isClose(normalized.rejectedGradient[i], summed.rejectedGradient[i] / r[i]))
        }
        #expect(isClose(normalized.diagnostics.value(named: "rewards/chosen")!,
                        summed.diagnostics.value(named: "rewards/chosen")!))
    }

    @Test func hingeHasZeroLossAndGradientOnceBetaHReachesOne() {
        for h in [2.0, 2.5, 10.0, 1e6] {   // β·h = 1 exactly at h = 2
            let result = single(.hinge, h: h, beta: 0.5)
            #expect(result.value == 0 && result.chosenGradient == [0] && result.rejectedGradient == [0])
        }
        let active = single(.hinge, h: 1.0, beta: 0.5)
        #expect(active.value == 0.5 && active.chosenGradient == [-0.5] && active.rejectedGradient == [0.5])
    }

    // MARK: §11 item 18 (RPO)

    @Test(arguments: kinds)
    func rpoWithZeroEtaIsDPOBitForBit(kind: DirectPreference.Kind) {
        let dpo = pairsLoss(kind)
        for rpo in [DirectPreference.RPOTerm.cumulative(eta: 0), .average(eta: 0)] {
            let result = pairsLoss(kind, rpo: rpo)
            #expect(result.value == dpo.value)
            #expect(result.chosenGradient == dpo.chosenGradient)
            #expect(result.rejectedGradient == dpo.rejectedGradient)
            #expect(Array(result.diagnostics.prefix(6)) == dpo.diagnostics)
        }
    }

    @Test func rpoAddsTheNLLGradientOnTheChosenResponse() {
        let beta = 0.5, eta = 0.3
        let dpo = pairsLoss(.sigmoid, beta: beta)
        let cumulative = pairsLoss(.sigmoid, beta: beta, rpo: .cumulative(eta: eta))
        let average = pairsLoss(.sigmoid, beta: beta, rpo: .average(eta: eta))
        for i in 0..<6 {
            let length = Double(Pairs.chosenLengths[i])
            let cumulativeTerm = cumulative.chosenGradient[i] - dpo.chosenGradient[i]
            let averageTerm = average.chosenGradient[i] - dpo.chosenGradient[i]
            #expect(isClose(cumulativeTerm, -eta * beta / 6))        // −ηβ ∇Σ_t log π(y_w,t)
            #expect(isClose(averageTerm, -eta / (6 * length)))       // −η ∇mean_t log π(y_w,t)
            #expect(isClose(cumulativeTerm, beta * length * averageTerm))
            #expect(cumulative.rejectedGradient[i] == dpo.rejectedGradient[i])
        }
        let nll = Pairs.policyChosen.map { -$0 }.reduce(0, +) / 6
        #expect(isClose(cumulative.value - dpo.value, eta * beta * nll, tolerance: 1e-10))
        #expect(cumulative.diagnostics.value(named: "loss/dpo") == dpo.value)
        #expect(isClose(cumulative.diagnostics.value(named: "nll_loss")!, nll))
        // One pair: the cumulative term is β·|y_w| times the average term.
        let one = { (rpo: DirectPreference.RPOTerm) in
            DirectPreference.loss(kind: .sigmoid, policyChosen: [-14.0], policyRejected: [-11.0], referenceChosen: [-13.0],
                                  referenceRejected: [-12.0], beta: beta, chosenLengths: [7], rpo: rpo).value
        }
        let base = single(.sigmoid, h: -2, beta: beta).value
        #expect(isClose(one(.cumulative(eta: eta)) - base, beta * 7 * (one(.average(eta: eta)) - base), tolerance: 1e-10))
    }

    @Test func extremeLogRatiosStayFinite() {
        for kind in kinds {
            for h in [-2000.0, 2000.0] {
                let result = DirectPreference.loss(kind: kind, policyChosen: [h], policyRejected: [0], referenceChosen: [0],
                                                   referenceRejected: [0], beta: 0.5, chosenLengths: [1], rejectedLengths: [1])
                #expect(result.value.isFinite && result.chosenGradient[0].isFinite && result.rejectedGradient[0].isFinite)
            }
        }
    }
}
