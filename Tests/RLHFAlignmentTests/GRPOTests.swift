import Foundation
import RLHFAlignment
import Testing

/// Four sequences (3, 5, 2, 4 tokens) with ε = 0.2, ε_high = 0.28, so log ρ ∉ [log 0.8, log 1.28] =
/// [−0.223, 0.247] clips.
///
/// Token level: high clips at (0, 0), (0, 2), (3, 2), (3, 3); low clips at (1, 0), (1, 2), (1, 3),
/// (1, 4); (2, ·) and (3, 1) lie outside the range on the unclipped side; (3, 0) = 0.2 is inside
/// only because ε_high > ε. Sequence level (GSPO): mean log-ratios 0.4 (clipped high), −0.4
/// (clipped low), 0.5 (A < 0: unclipped), 0.1 (inside).
private enum Fixture {
    static let logRatios: [[Double]] = [[0.5, 0.2, 0.5], [-0.6, -0.2, -0.4, -0.5, -0.3], [0.6, 0.4], [0.2, -0.5, 0.3, 0.4]]
    static let advantages: [Double] = [1.2, -0.7, -1.5, 0.9]
    static let oldLogProbs: [[Double]] = [[-1.2, -0.4, -2.5], [-3.1, -0.2, -1.7, -0.9, -2.0], [-0.6, -1.9], [-0.3, -2.2, -1.1, -0.8]]
    static let referenceOffsets: [[Double]] = [[0.3, -0.2, 0.1], [0.0, 0.4, -0.5, 0.2, 0.1], [-0.3, 0.25], [0.15, -0.1, 0.05, 0.35]]
    static var logProbs: [[Double]] { Ragged.add(oldLogProbs, logRatios) }
    static var referenceLogProbs: [[Double]] { Ragged.add(logProbs, referenceOffsets) }
    static let tokens = 14
}

private let aggregations: [GRPO.Aggregation] = [.grpo, .drGRPO(maximumLength: 8), .dapo]
private let levels: [GRPO.ImportanceLevel] = [.token, .sequence]

private func fixtureLoss(_ aggregation: GRPO.Aggregation, _ level: GRPO.ImportanceLevel,
                         logProbs: [[Double]] = Fixture.logProbs, beta: Double = 0.04) -> GRPO.Result {
    GRPO.loss(logProbs: logProbs, oldLogProbs: Fixture.oldLogProbs, referenceLogProbs: Fixture.referenceLogProbs,
              advantages: Fixture.advantages, clip: 0.2, clipHigh: 0.28, beta: beta, aggregation: aggregation,
              importance: level)
}

@Suite("GRPO advantages and loss (Dr. GRPO, DAPO, GSPO)")
struct GRPOTests {
    // MARK: Advantages (§11 item 20)

    let rewards: [Double] = [1.0, -0.5, 2.0, 0.3, 0.7, 0.7, 0.7, 0.7, -1.2, 3.3, 0.0, 0.4]

    @Test func groupAdvantagesHaveMeanZeroAndBesselStandardDeviationOne() {
        let a = GRPO.advantages(rewards: rewards, groupSize: 4, scaling: .group)
        for start in [0, 8] {
            let group = Array(rewards[start..<(start + 4)]), scaled = Array(a[start..<(start + 4)])
            let deviation = Statistics.meanAndVariance(group, convention: .sample).variance.squareRoot()
            let (mean, variance) = Statistics.meanAndVariance(scaled, convention: .sample)
            #expect(abs(mean) < 1e-12)
            #expect(isClose(variance.squareRoot(), deviation / (deviation + 1e-4)))   // ≈ 1, eps-adjusted
            #expect(isClose(variance.squareRoot(), 1, tolerance: 1e-3))
        }
        #expect(a[4..<8].allSatisfy { $0 == 0 })
    }

    @Test(arguments: GRPO.Scaling.allCases)
    func zeroVarianceGroupsGiveZerosWithoutNaN(scaling: GRPO.Scaling) {
        let a = GRPO.advantages(rewards: [0.1, 0.1, 0.1, 0.3, 0.3, 0.3], groupSize: 3, scaling: scaling)
        #expect(a == [0, 0, 0, 0, 0, 0])
        let b = GRPO.advantages(rewards: [2, 2, 1, 3], groupSize: 2, scaling: scaling)
        #expect(b[0] == 0 && b[1] == 0 && b.allSatisfy { !$0.isNaN })
    }

    @Test func groupAndBatchScalingAreInvariantToAPositiveAffineMap() {
        let mapped = rewards.map { 3 * $0 - 7 }
        for scaling in [GRPO.Scaling.group, .batch] {
            let a = GRPO.advantages(rewards: rewards, groupSize: 4, scaling: scaling)
            let b = GRPO.advantages(rewards: mapped, groupSize: 4, scaling: scaling)
            for i in a.indices { #expect(isClose(a[i], b[i], tolerance: 1e-3)) }
        }
    }

    /// §10b: only `group` and `none` are invariant to per-prompt shifts.
    @Test func onlyGroupAndNoneScalingAreShiftInvariantPerPrompt() {
        let shifted = rewards.enumerated().map { $0.element + ($0.offset < 4 ? 100 : -50) }
        for scaling in GRPO.Scaling.allCases {
            let a = GRPO.advantages(rewards: rewards, groupSize: 4, scaling: scaling)
            let b = GRPO.advantages(rewards: shifted, groupSize: 4, scaling: scaling)
            let invariant = a.indices.allSatisfy { isClose(a[$0], b[$0], tolerance: 1e-9) }
            #expect(invariant == (scaling != .batch))
        }
        let none = GRPO.advantages(rewards: rewards, groupSize: 4, scaling: .none)
        #expect(isClose(none[0], 1.0 - (1.0 - 0.5 + 2.0 + 0.3) / 4))
        let batch = GRPO.advantages(rewards: rewards, groupSize: 4, scaling: .batch)
        let batchDeviation = Statistics.meanAndVariance(rewards, convention: .sample).variance.squareRoot()
        #expect(isClose(batch[0], none[0] / (batchDeviation + 1e-4)))
    }

    // MARK: Loss

    @Test(arguments: aggregations, levels)
    func gradientMatchesCentralFiniteDifferencesWithClipsOnBothSides(aggregation: GRPO.Aggregation, level: GRPO.ImportanceLevel) {
        let result = fixtureLoss(aggregation, level)
        let numeric = Ragged.numericGradient(at: Fixture.logProbs) { fixtureLoss(aggregation, level, logProbs: $0).value }
        for (a, n) in zip(Ragged.flatten(result.gradient), Ragged.flatten(numeric)) {
            #expect(isClose(a, n, tolerance: 1e-7), "\(a) vs \(n)")
        }
        let d = result.diagnostics
        let clipfrac = d.value(named: "policy/clipfrac_avg") ?? -1
        #expect(clipfrac > 0 && clipfrac < 1)
        #expect((d.value(named: "clip_ratio/low_mean") ?? 0) > 0 && (d.value(named: "clip_ratio/high_mean") ?? 0) > 0)
        #expect(d.value(named: "clip_ratio/region_mean") == clipfrac)
        switch level {
        case .token: #expect(clipfrac == 8.0 / 14.0 && d.value(named: "clip_ratio/high_mean") == 4.0 / 14.0)
        case .sequence: #expect(d.value(named: "clip_ratio/high_mean") == 3.0 / 14.0 && d.value(named: "clip_ratio/low_mean") == 5.0 / 14.0)
        }
    }

    @Test(arguments: aggregations, levels)
    func valueMatchesTheNaiveFormula(aggregation: GRPO.Aggregation, level: GRPO.ImportanceLevel) {
        let beta = 0.04
        var perSequence: [Double] = []
        for i in 0..<4 {
            let lr = Fixture.logRatios[i]
            let sequenceRatio = exp(lr.reduce(0, +) / Double(lr.count))
            var sum = 0.0
            for t in lr.indices {
                let rho = level == .token ? exp(lr[t]) : sequenceRatio
                let a = Fixture.advantages[i]
                let ell = Fixture.logProbs[i][t] - Fixture.referenceLogProbs[i][t]
                sum += -min(rho * a, min(max(rho, 0.8), 1.28) * a) + beta * (exp(-ell) - 1 + ell)
            }
            perSequence.append(sum)
        }
        let lengths = Fixture.logRatios.map { Double($0.count) }
        let expected: Double
        switch aggregation {
        case .grpo: expected = zip(perSequence, lengths).map { $0 / $1 }.reduce(0, +) / 4
        case .drGRPO(let L): expected = perSequence.reduce(0, +) / (4 * Double(L))
        case .dapo: expected = perSequence.reduce(0, +) / 14
        }
        #expect(isClose(fixtureLoss(aggregation, level, beta: beta).value, expected))
    }

    /// On-policy with β = 0: grpo averages 1/|o_i| per sample (value −mean A, gradient −A_i/(N|o_i|));
    /// dr_grpo divides by N·L_max, dapo by all tokens.
    @Test func aggregationNormalisers() {
        let lengths = Fixture.logRatios.map(\.count)
        let A = Fixture.advantages
        func onPolicy(_ aggregation: GRPO.Aggregation) -> GRPO.Result {
            GRPO.loss(logProbs: Fixture.oldLogProbs, oldLogProbs: Fixture.oldLogProbs, referenceLogProbs: Fixture.referenceLogProbs,
                      advantages: A, aggregation: aggregation)
        }
        let weighted = zip(A, lengths).map { $0 * Double($1) }.reduce(0, +)
        let grpo = onPolicy(.grpo), dr = onPolicy(.drGRPO(maximumLength: 8)), dapo = onPolicy(.dapo)
        #expect(isClose(grpo.value, -A.reduce(0, +) / 4))
        #expect(isClose(dr.value, -weighted / (4 * 8)))
        #expect(isClose(dapo.value, -weighted / 14))
        for i in 0..<4 {
            for t in 0..<lengths[i] {
                #expect(isClose(grpo.gradient[i][t], -A[i] / (4 * Double(lengths[i]))))
                #expect(isClose(dr.gradient[i][t], -A[i] / 32))
                #expect(isClose(dapo.gradient[i][t], -A[i] / 14))
            }
        }
        // The default aggregation is TRL's `dapo`.
        let byDefault = GRPO.loss(logProbs: Fixture.oldLogProbs, oldLogProbs: Fixture.oldLogProbs,
                                  referenceLogProbs: Fixture.referenceLogProbs, advantages: A)
        #expect(byDefault == dapo)
    }

    /// GSPO's sequence ratio equals the token ratio when every token of a sequence has the same
    /// log-ratio: same value, same gradient, same clipping.
    @Test(arguments: aggregations)
    func sequenceRatioEqualsTokenRatioForConstantLogRatios(aggregation: GRPO.Aggregation) {
        let constant: [Double] = [0.4, -0.4, 0.5, 0.1]
        let logProbs = Fixture.oldLogProbs.enumerated().map { i, old in old.map { $0 + constant[i] } }
        let token = fixtureLoss(aggregation, .token, logProbs: logProbs)
        let sequence = fixtureLoss(aggregation, .sequence, logProbs: logProbs)
        #expect(isClose(token.value, sequence.value))
        for (a, b) in zip(Ragged.flatten(token.gradient), Ragged.flatten(sequence.gradient)) { #expect(isClose(a, b)) }
        #expect(token.diagnostics == sequence.diagnostics)
    }

    /// The KL term is k3 toward π_ref with gradient β·(1 − e^{ref − log π}) per token.
    @Test func klTermIsK3WithItsGradient() {
        let zero = [Double](repeating: 0, count: 4)
        let beta = 0.1
        let result = GRPO.loss(logProbs: Fixture.logProbs, oldLogProbs: Fixture.oldLogProbs,
                               referenceLogProbs: Fixture.referenceLogProbs, advantages: zero, beta: beta)
        var k3Sum = 0.0
        for i in 0..<4 {
            for t in Fixture.logProbs[i].indices {
                let ell = Fixture.logProbs[i][t] - Fixture.referenceLogProbs[i][t]
                k3Sum += exp(-ell) - 1 + ell
                #expect(isClose(result.gradient[i][t], beta * (1 - exp(Fixture.referenceLogProbs[i][t] - Fixture.logProbs[i][t])) / 14))
            }
        }
        #expect(isClose(result.value, beta * k3Sum / 14))
        #expect(isClose(result.diagnostics.value(named: "kl")!, k3Sum / 14))
        #expect(result.diagnostics.value(named: "policy/clipfrac_avg") == 0)
    }

    @Test func clippedTokensGetOnlyTheKLGradient() {
        let result = fixtureLoss(.dapo, .token, beta: 0)
        for (i, t) in [(0, 0), (0, 2), (3, 2), (3, 3), (1, 0), (1, 2), (1, 3), (1, 4)] {
            #expect(result.gradient[i][t] == 0, "token (\(i), \(t))")
        }
        #expect(result.gradient[3][0] != 0 && result.gradient[2][0] != 0)
    }

    /// §10b: G = 1 has no group statistics and is an error, not a NaN.
    @Test func aGroupOfOneIsAnError() async {
        await #expect(processExitsWith: .failure) {
            _ = GRPO.advantages(rewards: [1, 2, 3], groupSize: 1, scaling: .group)
        }
    }
}
