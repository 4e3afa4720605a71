import Foundation
import RLHFAlignment
import Testing

@Suite("RLOO advantages and loss")
struct RLOOTests {
    let rewards: [Double] = [1.0, -0.5, 2.0, 0.3, 0.7, 0.7, 0.7, 0.7, -1.2, 3.3, 0.0, 0.4]

    /// §11 item 19: sums to 0 per group, A = (k/(k−1))(R − R̄), constant group ⇒ zeros.
    @Test(arguments: [2, 4])
    func advantagesAreLeaveOneOut(k: Int) {
        let a = RLOO.advantages(rewards: rewards, groupSize: k)
        for start in stride(from: 0, to: rewards.count, by: k) {
            let group = Array(rewards[start..<(start + k)])
            let mean = group.reduce(0, +) / Double(k)
            #expect(abs(a[start..<(start + k)].reduce(0, +)) < 1e-12)
            for j in 0..<k {
                #expect(isClose(a[start + j], Double(k) / Double(k - 1) * (group[j] - mean)))
                let others = group.enumerated().filter { $0.offset != j }.map(\.element)
                #expect(isClose(a[start + j], group[j] - others.reduce(0, +) / Double(k - 1)))
            }
        }
        if k == 4 { #expect(a[4..<8].allSatisfy { $0 == 0 }) }   // 0.7 × 4
    }

    @Test func constantGroupsGiveExactZeros() {
        let a = RLOO.advantages(rewards: [0.1, 0.1, 0.1, 5, 5, 5], groupSize: 3)
        #expect(a == [0, 0, 0, 0, 0, 0])
    }

    /// The baseline of i excludes R_i: moving R_i by Δ moves A_i by Δ and every other A_j in the
    /// group by −Δ/(k−1).
    @Test func theBaselineOfASampleExcludesItsOwnReward() {
        let k = 4, delta = 0.9
        var moved = rewards
        moved[1] += delta
        let a = RLOO.advantages(rewards: rewards, groupSize: k), b = RLOO.advantages(rewards: moved, groupSize: k)
        #expect(isClose(b[1] - a[1], delta))
        for j in [0, 2, 3] { #expect(isClose(b[j] - a[j], -delta / Double(k - 1))) }
        for j in 4..<12 { #expect(b[j] == a[j]) }
    }

    @Test func penalizedRewardsSubtractBetaTimesTheKL() {
        #expect(RLOO.penalizedRewards(scores: [1.0, 0.5], logRatioSums: [4.0, -2.0], beta: 0.25) == [0.0, 1.0])
    }

    /// On-policy with k = 2: ∂L/∂s₁ = −(R₁ − R₂)/N (plain REINFORCE with the other sample as baseline).
    @Test func atRatioOneWithTwoSamplesTheGradientIsTheRewardDifference() {
        let r: [Double] = [1.0, -0.5, 2.0, 0.3, -1.2, 3.3]
        let a = RLOO.advantages(rewards: r, groupSize: 2)
        let s = uniformValues(6, seed: 41, in: -60 ... -5)
        let result = RLOO.loss(logProbs: s, oldLogProbs: s, advantages: a)
        let N = 6.0
        for g in 0..<3 {
            #expect(isClose(result.gradient[2 * g], -(r[2 * g] - r[2 * g + 1]) / N))
            #expect(isClose(result.gradient[2 * g + 1], -(r[2 * g + 1] - r[2 * g]) / N))
        }
        #expect(isClose(result.value, -a.reduce(0, +) / N))
        #expect(result.diagnostics.value(named: "policy/clipfrac_avg") == 0)
    }

    /// Off-policy with ε = 0.2: samples 0 (A > 0, ρ = e^0.4) and 3 (A < 0, ρ = e^−0.5) clipped;
    /// 1, 4 outside the range on the unclipped side; 2, 5 inside.
    @Test func gradientMatchesCentralFiniteDifferencesWithClipsOnBothSides() {
        let old: [Double] = [-20.0, -35.5, -12.0, -18.0, -44.0, -9.0]
        let logRatios: [Double] = [0.4, 0.6, 0.05, -0.5, -0.4, -0.1]
        let advantages: [Double] = [1.3, -0.8, 0.5, -1.1, 0.9, -0.2]
        let s = zip(old, logRatios).map { $0 + $1 }
        let result = RLOO.loss(logProbs: s, oldLogProbs: old, advantages: advantages)
        var total = 0.0
        for i in 0..<6 {
            let rho = exp(logRatios[i])
            total += max(-advantages[i] * rho, -advantages[i] * min(max(rho, 0.8), 1.2))
            let numeric = DoubleFiniteDifference.partial(at: s, index: i) {
                RLOO.loss(logProbs: $0, oldLogProbs: old, advantages: advantages).value
            }
            #expect(isClose(result.gradient[i], numeric, tolerance: 1e-8), "sample \(i)")
        }
        #expect(isClose(result.value, total / 6))
        let clipfrac = result.diagnostics.value(named: "policy/clipfrac_avg") ?? -1
        #expect(clipfrac > 0 && clipfrac < 1 && clipfrac == 2.0 / 6.0)
        #expect(result.gradient[0] == 0 && result.gradient[3] == 0)
        #expect(result.diagnostics.map(\.name) == ["policy/clipfrac_avg", "policy/approxkl_avg", "policy/ratio_mean",
                                                   "rloo/advantage_mean", "rloo/advantage_std"])
    }

    /// §10b: k = 1 has no leave-one-out baseline and is an error, not a NaN.
    @Test func aGroupOfOneIsAnError() async {
        await #expect(processExitsWith: .failure) {
            _ = RLOO.advantages(rewards: [1, 2, 3], groupSize: 1)
        }
    }
}
