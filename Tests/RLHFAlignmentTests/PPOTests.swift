import Foundation
@testable import RLHFAlignment
import Testing

/// An off-policy minibatch of 3 responses (4, 3, 5 tokens) with ε = 0.2, so log ρ ∉
/// [log 0.8, log 1.2] = [−0.223, 0.182] clips. Clipped tokens: (0, 0) high side (A > 0, ρ = e^0.5),
/// (1, 0) low side (A < 0, ρ = e^−0.6), (1, 1) high side: 3 of 12. Tokens (0, 1), (0, 3), (2, 1),
/// (2, 2), (2, 4) are outside the range on the unclipped side; (1, 2) has A = 0.
private enum PolicyFixture {
    static let logRatios: [[Double]] = [[0.5, -0.5, 0.05, 0.3], [-0.6, 0.9, -0.1], [0.1, -0.3, 0.25, -0.02, 0.7]]
    static let advantages: [[Double]] = [[0.8, 1.2, 0.4, -0.6], [-0.5, 1.5, 0.0], [1.1, 0.3, -0.9, 2.0, -0.4]]
    static let oldLogProbs: [[Double]] = [[-1.2, -0.4, -2.5, -0.9], [-3.1, -0.2, -1.7], [-0.6, -1.9, -0.3, -2.2, -1.1]]
    static var logProbs: [[Double]] { Ragged.add(oldLogProbs, logRatios) }
}

/// Value fixture with ε_v = 0.2: per response [inside, clipped above, clipped below] and
/// [outside but unclipped selected ×2, inside]: clipped 2 of 6.
private enum ValueFixture {
    static let oldValues: [[Double]] = [[0.3, -0.2, 1.0], [0.5, -0.7, 0.0]]
    static let offsets: [[Double]] = [[0.1, 0.5, -0.5], [0.5, -0.4, -0.05]]
    static let returnOffsets: [[Double]] = [[0.6, 1.0, -1.0], [-1.0, 0.3, 0.4]]
    static var values: [[Double]] { Ragged.add(oldValues, offsets) }
    static var returns: [[Double]] { Ragged.add(oldValues, returnOffsets) }
}

@Suite("PPO losses, shaping, GAE, whitening and the KL controller")
struct PPOTests {
    // MARK: Policy loss

    @Test func policyLossMatchesTheNaiveFormula() {
        let result = PPO.policyLoss(logProbs: PolicyFixture.logProbs, oldLogProbs: PolicyFixture.oldLogProbs,
                                    advantages: PolicyFixture.advantages)
        var total = 0.0
        for (l, a) in zip(Ragged.flatten(PolicyFixture.logRatios), Ragged.flatten(PolicyFixture.advantages)) {
            let rho = exp(l)
            total += max(-a * rho, -a * min(max(rho, 0.8), 1.2))
        }
        #expect(isClose(result.value, total / 12))
    }

    @Test func policyGradientMatchesCentralFiniteDifferencesWithClipsOnBothSides() {
        let result = PPO.policyLoss(logProbs: PolicyFixture.logProbs, oldLogProbs: PolicyFixture.oldLogProbs,
                                    advantages: PolicyFixture.advantages)
        let numeric = Ragged.numericGradient(at: PolicyFixture.logProbs) {
            PPO.policyLoss(logProbs: $0, oldLogProbs: PolicyFixture.oldLogProbs, advantages: PolicyFixture.advantages).value
        }
        for (a, n) in zip(Ragged.flatten(result.gradient), Ragged.flatten(numeric)) {
            #expect(isClose(a, n, tolerance: 1e-7), "\(a) vs \(n)")
        }
        let clipfrac = result.diagnostics.value(named: "policy/clipfrac_avg") ?? -1
        #expect(clipfrac > 0 && clipfrac < 1)
        #expect(clipfrac == 3.0 / 12.0)
        // Clipped on the high side (A > 0, ρ > 1.2) and on the low side (A < 0, ρ < 0.8).
        #expect(result.gradient[0][0] == 0 && result.gradient[1][0] == 0 && result.gradient[1][1] == 0)
        #expect(result.gradient[0][1] != 0 && result.gradient[2][4] != 0)
    }

    @Test func policyDiagnosticsAreTRLs() {
        let result = PPO.policyLoss(logProbs: PolicyFixture.logProbs, oldLogProbs: PolicyFixture.oldLogProbs,
                                    advantages: PolicyFixture.advantages)
        let flat = Ragged.flatten(PolicyFixture.logRatios)
        #expect(result.diagnostics.map(\.name) == ["policy/clipfrac_avg", "policy/approxkl_avg", "policy/ratio_mean"])
        #expect(isClose(result.diagnostics.value(named: "policy/approxkl_avg")!, flat.map { 0.5 * $0 * $0 }.reduce(0, +) / 12))
        #expect(isClose(result.diagnostics.value(named: "policy/ratio_mean")!, flat.map { exp($0) }.reduce(0, +) / 12))
    }

    /// At ρ = 1 the loss is −mean(A) over all tokens and its gradient −A/T_total (one token mean
    /// over the minibatch, not a per-sequence mean).
    @Test func atRatioOneTheLossIsMinusTheMeanAdvantage() {
        let result = PPO.policyLoss(logProbs: PolicyFixture.oldLogProbs, oldLogProbs: PolicyFixture.oldLogProbs,
                                    advantages: PolicyFixture.advantages)
        let flat = Ragged.flatten(PolicyFixture.advantages)
        #expect(isClose(result.value, -flat.reduce(0, +) / 12))
        for (g, a) in zip(Ragged.flatten(result.gradient), flat) { #expect(isClose(g, -a / 12)) }
        #expect(result.diagnostics.value(named: "policy/clipfrac_avg") == 0)
        #expect(result.diagnostics.value(named: "policy/approxkl_avg") == 0)
    }

    @Test func zeroAdvantageTokensContributeNothingEvenAtInfiniteRatio() {
        let result = PPO.policyLoss(logProbs: [[800, -1]], oldLogProbs: [[0, -1]], advantages: [[0, 1]])
        #expect(result.value == -0.5)
        #expect(result.gradient == [[0, -0.5]])
    }

    // MARK: Value loss

    @Test func valueLossMatchesTheNaiveFormulaAndFiniteDifferences() {
        let result = PPO.valueLoss(values: ValueFixture.values, oldValues: ValueFixture.oldValues,
                                   returns: ValueFixture.returns)
        var total = 0.0
        for (v, (o, g)) in zip(Ragged.flatten(ValueFixture.values),
                               zip(Ragged.flatten(ValueFixture.oldValues), Ragged.flatten(ValueFixture.returns))) {
            let clipped = min(max(v, o - 0.2), o + 0.2)
            total += 0.5 * max((v - g) * (v - g), (clipped - g) * (clipped - g))
        }
        #expect(isClose(result.value, total / 6))
        let numeric = Ragged.numericGradient(at: ValueFixture.values) {
            PPO.valueLoss(values: $0, oldValues: ValueFixture.oldValues, returns: ValueFixture.returns).value
        }
        for (a, n) in zip(Ragged.flatten(result.gradient), Ragged.flatten(numeric)) {
            #expect(isClose(a, n, tolerance: 1e-7), "\(a) vs \(n)")
        }
        let clipfrac = result.diagnostics.value(named: "val/clipfrac_avg") ?? -1
        #expect(clipfrac == 2.0 / 6.0)
        // Clipped above (index 1) and below (index 2) the old value.
        #expect(result.gradient[0][1] == 0 && result.gradient[0][2] == 0)
        #expect(isClose(result.diagnostics.value(named: "val/mean")!, Ragged.flatten(ValueFixture.values).reduce(0, +) / 6))
    }

    // MARK: Shaping, GAE, whitening

    /// §11 item 21: Σ_t r_t = R − β·Σ_t ℓ_t (k1); with β = 0 only the final token carries reward.
    @Test func shapedRewardsSumToTheScoreMinusTheKLPenalty() {
        let scores = [1.5, -0.3, 0.8]
        let logRatios = PolicyFixture.logRatios
        let beta = 0.05
        let rewards = PPO.shapedRewards(scores: scores, logRatios: logRatios, beta: beta)
        for i in scores.indices {
            #expect(isClose(rewards[i].reduce(0, +), scores[i] - beta * logRatios[i].reduce(0, +)))
            #expect(rewards[i].count == logRatios[i].count)
        }
        let plain = PPO.shapedRewards(scores: scores, logRatios: logRatios, beta: 0)
        for i in scores.indices {
            #expect(plain[i].dropLast().allSatisfy { $0 == 0 })
            #expect(plain[i].last == scores[i])
        }
        let k3 = PPO.shapedRewards(scores: scores, logRatios: logRatios, beta: beta, estimator: .k3)
        #expect(isClose(k3[0][0], -beta * (exp(-0.5) - 1 + 0.5)))
        #expect(isClose(k3[2][4], scores[2] - beta * (exp(-0.7) - 1 + 0.7)))
    }

    @Test func gaeWithUnitGammaAndLambdaGivesRewardsToGo() {
        let rewards: [[Double]] = [[0.1, -0.2, 1.5], [0.4], [-0.3, 0.0, 0.2, 2.0]]
        let values: [[Double]] = [[0.5, 0.7, -0.1], [3.0], [0.2, -0.4, 1.1, 0.9]]
        let (advantages, returns) = PPO.generalizedAdvantages(rewards: rewards, values: values, gamma: 1, lambda: 1)
        for i in rewards.indices {
            for t in rewards[i].indices {
                let toGo = rewards[i][t...].reduce(0, +)
                #expect(isClose(returns[i][t], toGo))
                #expect(isClose(advantages[i][t], toGo - values[i][t]))
            }
        }
    }

    @Test func gaeMatchesTheDiscountedSumOfTDErrors() {
        let rewards: [[Double]] = [[0.1, -0.2, 1.5, 0.3], [0.4, 0.9]]
        let values: [[Double]] = [[0.5, 0.7, -0.1, 0.2], [3.0, -1.0]]
        let gamma = 0.9, lambda = 0.95
        let (advantages, returns) = PPO.generalizedAdvantages(rewards: rewards, values: values, gamma: gamma, lambda: lambda)
        for i in rewards.indices {
            let T = rewards[i].count
            let deltas = (0..<T).map { t in rewards[i][t] + gamma * (t + 1 < T ? values[i][t + 1] : 0) - values[i][t] }
            for t in 0..<T {
                let expected = (t..<T).reduce(0.0) { $0 + pow(gamma * lambda, Double($1 - t)) * deltas[$1] }
                #expect(isClose(advantages[i][t], expected))
                #expect(isClose(returns[i][t], expected + values[i][t]))
            }
        }
    }

    @Test func whiteningGivesMeanZeroAndBesselStandardDeviationOne() {
        let x: [[Double]] = [[3.0, -1.0, 0.5], [10.0], [2.0, 2.5, -4.0, 7.0]]
        let white = Ragged.flatten(PPO.whiten(x))
        let (mean, variance) = Statistics.meanAndVariance(white, convention: .sample)
        #expect(abs(mean) < 1e-12)
        #expect(isClose(variance.squareRoot(), 1, tolerance: 1e-8))
        // shiftMean false: scaled only, mean added back (TRL), unit Bessel std.
        let original = Statistics.meanAndVariance(Ragged.flatten(x), convention: .sample)
        let scaled = Statistics.meanAndVariance(Ragged.flatten(PPO.whiten(x, shiftMean: false)), convention: .sample)
        #expect(isClose(scaled.mean, original.mean))
        #expect(isClose(scaled.variance.squareRoot(), 1, tolerance: 1e-8))
        #expect(PPO.whiten(x).map(\.count) == x.map(\.count))
    }

    // MARK: Adaptive KL controller

    @Test func adaptiveControllerMovesBetaTowardTheTarget() throws {
        var controller = try PPO.AdaptiveKLController(initialBeta: 0.05, target: 6, horizon: 10_000)
        try controller.update(currentKL: 12, samples: 64)                 // error clipped at +0.2
        #expect(isClose(controller.beta, 0.05 * (1 + 0.2 * 64 / 10_000)))
        let raised = controller.beta
        try controller.update(currentKL: 5.4, samples: 64)                // error −0.1
        #expect(isClose(controller.beta, raised * (1 - 0.1 * 64 / 10_000)))
        let lowered = controller.beta
        try controller.update(currentKL: 6, samples: 64)
        #expect(controller.beta == lowered)
        // Far below the target β falls, monotonically and staying positive.
        var previous = controller.beta
        for _ in 0..<100 {
            try controller.update(currentKL: 0.1, samples: 10_000)
            #expect(controller.beta < previous && controller.beta > 0)
            previous = controller.beta
        }
    }

    @Test func adaptiveControllerRejectsAHorizonBelowTheSamples() throws {
        var controller = try PPO.AdaptiveKLController(initialBeta: 0.1, target: 6, horizon: 32)
        #expect(throws: PPO.KLControllerError.horizonBelowSamples(horizon: 32, samples: 64)) {
            try controller.update(currentKL: 7, samples: 64)
        }
        #expect(controller.beta == 0.1)
        #expect(throws: PPO.KLControllerError.invalidHorizon(0)) {
            try PPO.AdaptiveKLController(initialBeta: 0.1, target: 6, horizon: 0)
        }
        #expect(throws: PPO.KLControllerError.invalidTarget(-1)) {
            try PPO.AdaptiveKLController(initialBeta: 0.1, target: -1, horizon: 100)
        }
        #expect(throws: PPO.KLControllerError.invalidBeta(-0.1)) {
            try PPO.AdaptiveKLController(initialBeta: -0.1, target: nil, horizon: 100)
        }
        #expect(PPO.KLControllerError.horizonBelowSamples(horizon: 32, samples: 64).description.contains("horizon 32.0 < 64 samples"))
    }

    @Test func fixedControllerKeepsBetaAndCodableValidates() throws {
        var fixed = try PPO.AdaptiveKLController(initialBeta: 0.2, target: nil, horizon: 1)
        try fixed.update(currentKL: 100, samples: 1_000)
        #expect(fixed.beta == 0.2 && !fixed.isAdaptive)
        #expect(PPO.AdaptiveKLController.fixed(beta: 0.2) == fixed)

        let adaptive = try PPO.AdaptiveKLController(initialBeta: 0.05, target: 6, horizon: 10_000)
        let data = try JSONEncoder().encode(adaptive)
        #expect(try JSONDecoder().decode(PPO.AdaptiveKLController.self, from: data) == adaptive)
        let bad = Data(#"{"beta": 0.05, "target": 6, "horizon": -5}"#.utf8)
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(PPO.AdaptiveKLController.self, from: bad) }
    }

    /// §10b: whitening one element is an error, not a NaN.
    @Test func whiteningOneTokenIsAnError() async {
        await #expect(processExitsWith: .failure) {
            _ = PPO.whiten([[1.0]])
        }
    }
}
