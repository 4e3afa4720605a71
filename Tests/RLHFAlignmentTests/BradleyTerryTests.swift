import Foundation
import RLHFAlignment
import Testing

@Suite("Bradley–Terry reward-model loss")
struct BradleyTerryTests {
    let chosen = [0.8, -0.4, 1.7, 0.0, 2.2, -1.1]
    let rejected = [0.1, 0.3, -0.9, 0.0, 2.5, -3.0]
    let margins = [0.0, 0.5, 1.0, 0.2, 0.0, 3.0]

    /// The loss written out naively, the way TRL computes it.
    func reference(_ w: [Double], _ l: [Double], _ m: [Double], _ c: Double) -> Double {
        var pairwise = 0.0, centring = 0.0
        for i in w.indices {
            pairwise += -log(1 / (1 + exp(-(w[i] - l[i] - m[i]))))
            centring += (w[i] + l[i]) * (w[i] + l[i])
        }
        return pairwise / Double(w.count) + c * centring / Double(w.count)
    }

    @Test func valueMatchesTheNaiveFormula() {
        for c in [0.0, 0.01, 0.5] {
            let result = BradleyTerry.loss(chosen: chosen, rejected: rejected, margins: margins, centeringCoefficient: c)
            #expect(isClose(result.value, reference(chosen, rejected, margins, c)))
        }
        let noMargins = BradleyTerry.loss(chosen: chosen, rejected: rejected)
        #expect(isClose(noMargins.value, reference(chosen, rejected, [Double](repeating: 0, count: 6), 0)))
    }

    @Test(arguments: [0.0, 0.01, 0.3])
    func gradientsMatchCentralFiniteDifferences(centering c: Double) {
        for useMargins in [false, true] {
            let m: [Double]? = useMargins ? margins : nil
            let result = BradleyTerry.loss(chosen: chosen, rejected: rejected, margins: m, centeringCoefficient: c)
            for i in chosen.indices {
                let dChosen = DoubleFiniteDifference.partial(at: chosen, index: i) {
                    BradleyTerry.loss(chosen: $0, rejected: rejected, margins: m, centeringCoefficient: c).value
                }
                let dRejected = DoubleFiniteDifference.partial(at: rejected, index: i) {
                    BradleyTerry.loss(chosen: chosen, rejected: $0, margins: m, centeringCoefficient: c).value
                }
                #expect(abs(result.chosenGradient[i] - dChosen) < 1e-8, "chosen \(i), c = \(c)")
                #expect(abs(result.rejectedGradient[i] - dRejected) < 1e-8, "rejected \(i), c = \(c)")
            }
        }
    }

    @Test func isLogTwoAtEqualRewardsAndAtAGapEqualToTheMargin() {
        let equal = BradleyTerry.loss(chosen: [0.3, -2, 5], rejected: [0.3, -2, 5])
        #expect(isClose(equal.value, log(2.0)))
        let atMargin = BradleyTerry.loss(chosen: [1.5, 0, 4], rejected: [1, -2, 4], margins: [0.5, 2, 0])
        #expect(isClose(atMargin.value, log(2.0)))
    }

    @Test func isInvariantToAConstantAddedToBothRewardsWithoutCentring() {
        let base = BradleyTerry.loss(chosen: chosen, rejected: rejected, margins: margins)
        for shift in [-7.0, 0.25, 100] {
            let shifted = BradleyTerry.loss(
                chosen: chosen.map { $0 + shift }, rejected: rejected.map { $0 + shift }, margins: margins)
            #expect(isClose(shifted.value, base.value, tolerance: 1e-12))
            for i in chosen.indices {
                #expect(abs(shifted.chosenGradient[i] - base.chosenGradient[i]) < 1e-12)
                #expect(abs(shifted.rejectedGradient[i] - base.rejectedGradient[i]) < 1e-12)
            }
        }
        // Centring is what breaks the shift invariance, pulling r_w + r_l towards 0.
        let centred = BradleyTerry.loss(chosen: chosen, rejected: rejected, centeringCoefficient: 0.01)
        let centredShifted = BradleyTerry.loss(
            chosen: chosen.map { $0 + 3 }, rejected: rejected.map { $0 + 3 }, centeringCoefficient: 0.01)
        #expect(centredShifted.value > centred.value)
    }

    @Test func gradientIsNegativeInChosenAndPositiveInRejected() {
        let result = BradleyTerry.loss(chosen: chosen, rejected: rejected, margins: margins)
        #expect(result.chosenGradient.allSatisfy { $0 < 0 })
        #expect(result.rejectedGradient.allSatisfy { $0 > 0 })
        // Pair i's gradients cancel without centring: ∂L/∂r_w = −∂L/∂r_l = −σ(−z)/N.
        for i in chosen.indices { #expect(result.chosenGradient[i] == -result.rejectedGradient[i]) }
    }

    @Test func largeRewardGapsStayFinite() {
        let confident = BradleyTerry.loss(chosen: [1000], rejected: [-1000])
        #expect(confident.value == 0 && confident.chosenGradient[0] == 0)
        let wrong = BradleyTerry.loss(chosen: [-1000], rejected: [1000])
        #expect(wrong.value == 2000 && wrong.chosenGradient[0] == -1 && wrong.rejectedGradient[0] == 1)
    }

    @Test func diagnosticsUseTRLNamesAndCountTiesAsWrong() {
        // Pairs: win, loss, win, tie, loss, win → accuracy 3/6.
        let result = BradleyTerry.loss(chosen: chosen, rejected: rejected, margins: margins)
        #expect(result.diagnostics.map(\.name) == [
            "accuracy", "margin", "mean_reward", "min_reward", "max_reward", "rewards/chosen", "rewards/rejected",
        ])
        let d = result.diagnostics
        #expect(d.value(named: "accuracy") == 0.5)
        #expect(isClose(d.value(named: "margin")!, (0.7 - 0.7 + 2.6 + 0 - 0.3 + 1.9) / 6))
        #expect(isClose(d.value(named: "mean_reward")!, (3.2 + -1.0) / 12))
        #expect(d.value(named: "min_reward") == -3.0)
        #expect(d.value(named: "max_reward") == 2.5)
        #expect(isClose(d.value(named: "rewards/chosen")!, 3.2 / 6))
        #expect(isClose(d.value(named: "rewards/rejected")!, -1.0 / 6))
        #expect(d.value(named: "no such metric") == nil)
    }

    @Test func expectedLossUnderLabelNoise() {
        for delta in [-3.0, -0.2, 0, 1.1, 6] {
            #expect(BradleyTerry.expectedLossUnderLabelNoise(delta: delta, noise: 0) == StableMath.softplus(-delta))
            for noise in [0.1, 0.25, 0.4] {
                let value = BradleyTerry.expectedLossUnderLabelNoise(delta: delta, noise: noise)
                let mirrored = BradleyTerry.expectedLossUnderLabelNoise(delta: -delta, noise: 1 - noise)
                #expect(isClose(value, mirrored))
            }
        }
        #expect(isClose(BradleyTerry.expectedLossUnderLabelNoise(delta: 0, noise: 0.5), log(2.0)))
        // The minimiser is σ(Δ*) = 1 − ε: the derivative in Δ vanishes at Δ* = log((1 − ε)/ε).
        for noise in [0.05, 0.25, 0.45] {
            let optimum = log((1 - noise) / noise)
            let slope = DoubleFiniteDifference.derivative(at: optimum) {
                BradleyTerry.expectedLossUnderLabelNoise(delta: $0, noise: noise)
            }
            #expect(abs(slope) < 1e-8)
        }
    }

    @Test func expectedLossEqualsTheLossOnExactlyFlippedPairs() {
        // 20 pairs all with gap Δ; flipping ⌊0.25 · 20⌉ = 5 of them gives the expected loss at ε = 0.25.
        let delta = 1.3, N = 20
        var chosen = [Double](repeating: delta, count: N), rejected = [Double](repeating: 0, count: N)
        let flipped = LabelNoise.flippedIndices(count: N, rate: 0.25, seed: 11)
        #expect(flipped.count == 5)
        for i in flipped { swap(&chosen[i], &rejected[i]) }
        let loss = BradleyTerry.loss(chosen: chosen, rejected: rejected).value
        #expect(isClose(loss, BradleyTerry.expectedLossUnderLabelNoise(delta: delta, noise: 0.25)))
    }
}
