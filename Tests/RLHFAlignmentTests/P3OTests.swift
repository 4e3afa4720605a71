import Foundation
@testable import RLHFAlignment
import Testing

/// An off-policy batch of 8 pairs with clips active on both sides (p3o.md §7.3 fixture).
///
/// V1 masks (m₁, m₂): pair 0 (0, 0), 1 (1, 1), 2 (0, 0), 3 (1, 0) with ρ₁ = e³ on the unbounded
/// side, 4 (1, 1), 5 (1, 0), 6 (1, 1), 7 (1, 1); weights clipped at c = 10 in pairs 3, 4, 5.
/// V2 mask m: 0 in pairs 0, 2, 5; joint weight clipped in pairs 3 and 5.
private enum Fixture {
    static let delta: [Double] = [1.5, -0.7, -2.0, -1.2, 0.8, 2.2, -0.3, 0.9]
    static let oldFirst: [Double] = [-10, -20, -5, -8, -12, -3, -7, -15]
    static let oldSecond: [Double] = [-11, -18, -6, -9, -10, -4, -6, -14]
    static let logRatioFirst: [Double] = [0.5, 0.05, -0.5, 3.0, -3.0, 0.1, 0.0, -0.1]
    static let logRatioSecond: [Double] = [-0.5, 0.1, 0.5, 2.5, 1.0, -2.8, 0.15, -0.05]
    static var newFirst: [Double] { zip(oldFirst, logRatioFirst).map { $0 + $1 } }
    static var newSecond: [Double] { zip(oldSecond, logRatioSecond).map { $0 + $1 } }
    static let rewardFirst: [Double] = [0.3, -1.2, 2.0, 0.7, -0.4, 1.1, 0.0, 0.9]
    static let rewardSecond: [Double] = [-0.6, 0.2, 1.4, -0.3, 0.8, -1.5, 0.5, 0.1]
    static let shift: [Double] = [1e3, -1e3, 734.5, -512.25, 999.9, -1e3, 250, -873]
    static let tokens = 137
}

private let variants: [P3O.Variant] = [.separateClipping, .jointClipping]
private let reductions: [P3O.Reduction] = [.pairMean, .tokenNormalizedSum(responseTokens: Fixture.tokens)]

private func fixtureLoss(_ variant: P3O.Variant, _ reduction: P3O.Reduction, delta: [Double] = Fixture.delta) -> P3O.Result {
    P3O.loss(variant: variant, delta: delta, newFirst: Fixture.newFirst, newSecond: Fixture.newSecond,
             oldFirst: Fixture.oldFirst, oldSecond: Fixture.oldSecond, reduction: reduction)
}

/// The §5.6 pseudo-code, transcribed naively (exp of ratios, no log-space care), for the value.
private func referenceValue(_ variant: P3O.Variant, _ reduction: P3O.Reduction, delta: [Double],
                            newFirst: [Double], newSecond: [Double], oldFirst: [Double], oldSecond: [Double],
                            epsilon: Double = 0.2, c: Double = 10) -> Double {
    func clamp(_ x: Double, _ a: Double, _ b: Double) -> Double { min(max(x, a), b) }
    var losses: [Double] = []
    for i in delta.indices {
        let d = delta[i]
        let r1 = exp(newFirst[i] - oldFirst[i]), r2 = exp(newSecond[i] - oldSecond[i])
        switch variant {
        case .separateClipping:
            let w1 = clamp(r2, 1 / c, c), w2 = clamp(r1, 1 / c, c)
            let L1 = max(-d * w1 * r1, -d * w1 * clamp(r1, 1 - epsilon, 1 + epsilon))
            let L2 = max(d * w2 * r2, d * w2 * clamp(r2, 1 - epsilon, 1 + epsilon))
            losses.append((L1 + L2) / 2)
        case .jointClipping:
            let w = clamp(r1 * r2, 1 / c, c)
            let l = newFirst[i] - newSecond[i], l0 = oldFirst[i] - oldSecond[i]
            losses.append(max(-d * w * l, -d * w * clamp(l, l0 - epsilon, l0 + epsilon)) / 2)
        }
    }
    switch reduction {
    case .pairMean: return losses.reduce(0, +) / Double(losses.count)
    case .tokenNormalizedSum(let T): return losses.reduce(0, +) * 2 / Double(T)
    }
}

@Suite("P3O pairwise PPO losses")
struct P3OTests {
    // MARK: Value and gradient

    @Test(arguments: variants, reductions)
    func valueMatchesTheReferencePseudoCode(variant: P3O.Variant, reduction: P3O.Reduction) {
        let result = fixtureLoss(variant, reduction)
        let reference = referenceValue(variant, reduction, delta: Fixture.delta,
                                       newFirst: Fixture.newFirst, newSecond: Fixture.newSecond,
                                       oldFirst: Fixture.oldFirst, oldSecond: Fixture.oldSecond)
        #expect(isClose(result.value, reference, tolerance: 1e-12))
    }

    /// Central differences with the importance weights held at their detached values (stop-grad).
    @Test(arguments: variants, reductions)
    func gradientsMatchCentralFiniteDifferencesOffPolicy(variant: P3O.Variant, reduction: P3O.Reduction) {
        let N = Fixture.delta.count
        let s0 = Fixture.newFirst + Fixture.newSecond
        let f: ([Double]) -> Double = { s in
            P3O.evaluate(variant: variant, delta: Fixture.delta,
                         newFirst: Array(s[0..<N]), newSecond: Array(s[N...]),
                         detachedNewFirst: Fixture.newFirst, detachedNewSecond: Fixture.newSecond,
                         oldFirst: Fixture.oldFirst, oldSecond: Fixture.oldSecond,
                         epsilon: 0.2, c: 10, reduction: reduction).value
        }
        let result = fixtureLoss(variant, reduction)
        let analytic = result.firstGradient + result.secondGradient
        for k in 0..<(2 * N) {
            let numeric = DoubleFiniteDifference.partial(at: s0, index: k, of: f)
            #expect(isClose(analytic[k], numeric, tolerance: 1e-6), "index \(k): \(analytic[k]) vs \(numeric)")
        }
        // The fixture really has clipped branches on both sides.
        #expect(analytic.contains(0))
        #expect(analytic.contains { $0 > 0 } && analytic.contains { $0 < 0 })
    }

    @Test(arguments: variants)
    func tokenNormalizedSumIsTwiceTheSumOverTheTokenCount(variant: P3O.Variant) {
        let mean = fixtureLoss(variant, .pairMean)
        let summed = fixtureLoss(variant, .tokenNormalizedSum(responseTokens: Fixture.tokens))
        let factor = 2 * Double(Fixture.delta.count) / Double(Fixture.tokens)
        #expect(isClose(summed.value, mean.value * factor))
        for i in Fixture.delta.indices {
            #expect(isClose(summed.firstGradient[i], mean.firstGradient[i] * factor))
            #expect(isClose(summed.secondGradient[i], mean.secondGradient[i] * factor))
        }
    }

    @Test func deltaIsTheKLPenalisedRewardDifference() {
        let d = P3O.delta(rewardFirst: [1.0, -2.0], rewardSecond: [0.25, 3.0], klFirst: [4.0, -1.0],
                          klSecond: [2.0, 1.0], beta: 0.05)
        #expect(isClose(d[0], (1.0 - 0.25) - 0.05 * (4.0 - 2.0)))
        #expect(isClose(d[1], (-2.0 - 3.0) - 0.05 * (-1.0 - 1.0)))
    }

    @Test func diagnosticsCountClippedResponsesOrPairs() {
        let v1 = fixtureLoss(.separateClipping, .pairMean).diagnostics
        #expect(v1.value(named: "policy/clipfrac_avg") == 6.0 / 16.0)
        #expect(isClose(v1.value(named: "p3o/delta_abs")!, Fixture.delta.map { abs($0) }.reduce(0, +) / 8))
        #expect(v1.value(named: "p3o/weight_clipfrac") == 4.0 / 16.0)
        #expect(isClose(v1.value(named: "p3o/ratio_max")!, exp(3.0)))
        let v2 = fixtureLoss(.jointClipping, .pairMean).diagnostics
        #expect(v2.value(named: "policy/clipfrac_avg") == 3.0 / 8.0)
        #expect(v2.value(named: "p3o/weight_clipfrac") == 2.0 / 8.0)
        #expect(isClose(v2.value(named: "p3o/pair_ratio_max")!, exp(5.5)))
    }

    // MARK: T1–T7

    /// T1: Δ from rewards shifted per prompt by ±1e3 gives the same loss and gradients.
    @Test(arguments: variants, reductions)
    func t1ExactInvarianceUnderPerPromptRewardShifts(variant: P3O.Variant, reduction: P3O.Reduction) {
        let klFirst = uniformValues(8, seed: 11, in: -3...3), klSecond = uniformValues(8, seed: 12, in: -3...3)
        let base = P3O.delta(rewardFirst: Fixture.rewardFirst, rewardSecond: Fixture.rewardSecond,
                             klFirst: klFirst, klSecond: klSecond, beta: 0.05)
        let shifted = P3O.delta(rewardFirst: zip(Fixture.rewardFirst, Fixture.shift).map { $0 + $1 },
                                rewardSecond: zip(Fixture.rewardSecond, Fixture.shift).map { $0 + $1 },
                                klFirst: klFirst, klSecond: klSecond, beta: 0.05)
        let a = fixtureLoss(variant, reduction, delta: base)
        let b = fixtureLoss(variant, reduction, delta: shifted)
        #expect(a.firstGradient.contains(0) || a.secondGradient.contains(0))   // clips active
        #expect(isClose(b.value, a.value, tolerance: 1e-6))
        for i in 0..<8 {
            #expect(isClose(b.firstGradient[i], a.firstGradient[i], tolerance: 1e-6))
            #expect(isClose(b.secondGradient[i], a.secondGradient[i], tolerance: 1e-6))
        }
    }

    /// T2: a PPO clipped surrogate per response with a fixed baseline V(x) is not shift-invariant:
    /// ρ = 1.5 > 1 + ε with advantage +0.5 is clipped (zero gradient); shifting r by −1 flips the
    /// advantage to −0.5 and the unclipped branch becomes active.
    @Test func t2PPOWithAFixedBaselineChangesUnderAShift() {
        let epsilon = 0.2, value = 0.0
        func ppoLoss(logProb s: Double, oldLogProb o: Double, reward r: Double) -> Double {
            let rho = exp(s - o), advantage = r - value
            return -min(rho * advantage, min(max(rho, 1 - epsilon), 1 + epsilon) * advantage)
        }
        let old = -4.0, new = old + log(1.5), reward = 0.5
        let gradient = { (r: Double) in
            DoubleFiniteDifference.derivative(at: new) { ppoLoss(logProb: $0, oldLogProb: old, reward: r) }
        }
        let before = gradient(reward), after = gradient(reward - 1)
        #expect(abs(before) < 1e-9)
        #expect(!isClose(after, before, tolerance: 1e-6))
        #expect(isClose(after, 0.75, tolerance: 1e-6))   // −ρ·A = −1.5·(−0.5)
        #expect(!isClose(ppoLoss(logProb: new, oldLogProb: old, reward: reward - 1),
                         ppoLoss(logProb: new, oldLogProb: old, reward: reward), tolerance: 1e-6))
    }

    /// T3: clipping each reward to ±10 before differencing breaks invariance: r = (9, 7), δ = 5
    /// → (14, 12) → (10, 10), so the difference 2 becomes 0; Δ from raw rewards is unchanged.
    @Test(arguments: variants)
    func t3ClipThenDifferenceBreaksInvariance(variant: P3O.Variant) {
        func clip(_ r: Double) -> Double { min(max(r, -10), 10) }
        let r1 = 9.0, r2 = 7.0, shift = 5.0
        let preprocessed = P3O.delta(rewardFirst: [clip(r1)], rewardSecond: [clip(r2)], klFirst: [0], klSecond: [0], beta: 0.05)
        let preprocessedShifted = P3O.delta(rewardFirst: [clip(r1 + shift)], rewardSecond: [clip(r2 + shift)],
                                            klFirst: [0], klSecond: [0], beta: 0.05)
        #expect(preprocessed == [2])
        #expect(preprocessedShifted == [0])
        let raw = P3O.delta(rewardFirst: [r1 + shift], rewardSecond: [r2 + shift], klFirst: [0], klSecond: [0], beta: 0.05)
        #expect(raw == [2])
        func gradient(_ d: [Double]) -> Double {
            P3O.loss(variant: variant, delta: d, newFirst: [-3.1], newSecond: [-2.0], oldFirst: [-3.0], oldSecond: [-2.0],
                     reduction: .pairMean).firstGradient[0]
        }
        #expect(gradient(preprocessed) != 0)
        #expect(gradient(preprocessedShifted) == 0)
        #expect(gradient(raw) == gradient(preprocessed))
    }

    /// T4: tabular softmax policy over K = 5 actions, one prompt. Summing the on-policy P3O gradient
    /// over all K² ordered pairs weighted by π(y₁)π(y₂), chained to the logits, equals −Σ_y π(y) r(y)
    /// ∇log π(y), the exact −∇J; also after adding a constant to r.
    @Test(arguments: variants, [0.0, 37.5, -1e3])
    func t4TabularUnbiasednessByEnumeration(variant: P3O.Variant, constant: Double) {
        let K = 5
        let logits: [Double] = [0.3, -1.0, 0.7, 0.0, -0.4]
        let rewards: [Double] = [1.0, -0.5, 2.0, 0.3, -1.2]
        let z = logits.map { exp($0) }.reduce(0, +)
        let pi = logits.map { exp($0) / z }
        let logPi = pi.map { log($0) }
        // ∂ log π(y) / ∂θ_v = 𝟙[v = y] − π_v.
        func score(_ y: Int, _ v: Int) -> Double { (v == y ? 1 : 0) - pi[v] }
        var exact = [Double](repeating: 0, count: K)
        for y in 0..<K { for v in 0..<K { exact[v] -= pi[y] * rewards[y] * score(y, v) } }
        var enumerated = [Double](repeating: 0, count: K)
        for y1 in 0..<K {
            for y2 in 0..<K {
                let d = P3O.delta(rewardFirst: [rewards[y1] + constant], rewardSecond: [rewards[y2] + constant],
                                  klFirst: [0], klSecond: [0], beta: 0)
                let result = P3O.loss(variant: variant, delta: d, newFirst: [logPi[y1]], newSecond: [logPi[y2]],
                                      oldFirst: [logPi[y1]], oldSecond: [logPi[y2]], reduction: .pairMean)
                for v in 0..<K {
                    enumerated[v] += pi[y1] * pi[y2]
                        * (result.firstGradient[0] * score(y1, v) + result.secondGradient[0] * score(y2, v))
                }
            }
        }
        for v in 0..<K { #expect(isClose(enumerated[v], exact[v], tolerance: 1e-10)) }
    }

    /// T5: on-policy, both variants give −½Δ on y₁ and +½Δ on y₂ per pair (×1/N for the mean).
    @Test func t5OnPolicyBothVariantsReduceToPairwisePolicyGradient() {
        let N = 6
        let delta = uniformValues(N, seed: 5, in: -3...3)
        let old1 = uniformValues(N, seed: 6, in: -50 ... -1), old2 = uniformValues(N, seed: 7, in: -50 ... -1)
        let results = variants.map {
            P3O.loss(variant: $0, delta: delta, newFirst: old1, newSecond: old2, oldFirst: old1, oldSecond: old2,
                     reduction: .pairMean)
        }
        for result in results {
            for i in 0..<N {
                #expect(isClose(result.firstGradient[i] * Double(N), -0.5 * delta[i]))
                #expect(isClose(result.secondGradient[i] * Double(N), 0.5 * delta[i]))
            }
            #expect(result.diagnostics.value(named: "policy/clipfrac_avg") == 0)
        }
        for i in 0..<N { #expect(isClose(results[0].firstGradient[i], results[1].firstGradient[i])) }
    }

    /// T6: swapping (y₁, r₁) ↔ (y₂, r₂) leaves the loss and the per-response gradients unchanged.
    @Test(arguments: variants, reductions)
    func t6SwapSymmetry(variant: P3O.Variant, reduction: P3O.Reduction) {
        let klFirst = uniformValues(8, seed: 21), klSecond = uniformValues(8, seed: 22)
        let d = P3O.delta(rewardFirst: Fixture.rewardFirst, rewardSecond: Fixture.rewardSecond,
                          klFirst: klFirst, klSecond: klSecond, beta: 0.1)
        let swappedDelta = P3O.delta(rewardFirst: Fixture.rewardSecond, rewardSecond: Fixture.rewardFirst,
                                     klFirst: klSecond, klSecond: klFirst, beta: 0.1)
        let a = P3O.loss(variant: variant, delta: d, newFirst: Fixture.newFirst, newSecond: Fixture.newSecond,
                         oldFirst: Fixture.oldFirst, oldSecond: Fixture.oldSecond, reduction: reduction)
        let b = P3O.loss(variant: variant, delta: swappedDelta, newFirst: Fixture.newSecond, newSecond: Fixture.newFirst,
                         oldFirst: Fixture.oldSecond, oldSecond: Fixture.oldFirst, reduction: reduction)
        #expect(isClose(b.value, a.value))
        for i in 0..<8 {
            #expect(isClose(b.firstGradient[i], a.secondGradient[i]))
            #expect(isClose(b.secondGradient[i], a.firstGradient[i]))
        }
    }

    /// T7: y₁ ≡ y₂ (same reward, same S, same log-probs), off-policy ⇒ Δ = 0 and zero gradient.
    @Test(arguments: variants, reductions)
    func t7DegeneratePairHasZeroGradient(variant: P3O.Variant, reduction: P3O.Reduction) {
        let d = P3O.delta(rewardFirst: Fixture.rewardFirst, rewardSecond: Fixture.rewardFirst,
                          klFirst: Fixture.logRatioFirst, klSecond: Fixture.logRatioFirst, beta: 0.05)
        #expect(d.allSatisfy { $0 == 0 })
        let result = P3O.loss(variant: variant, delta: d, newFirst: Fixture.newFirst, newSecond: Fixture.newFirst,
                              oldFirst: Fixture.oldFirst, oldSecond: Fixture.oldFirst, reduction: reduction)
        #expect(result.firstGradient.allSatisfy { $0 == 0 })
        #expect(result.secondGradient.allSatisfy { $0 == 0 })
        #expect(result.value == 0)
    }

    // MARK: §5.4 remark and numerics

    /// V1 is unbounded on one side: Δ < 0 and ρ₁ → ∞ keeps the unclipped branch with gradient
    /// ½·ρ₁·|Δ|·w₁; V2's gradient stays bounded by ½·c·|Δ|.
    @Test func v1IsUnboundedOnOneSideButV2IsBounded() {
        var previous = 0.0
        for k in stride(from: 4.0, through: 40.0, by: 3.0) {
            let v1 = P3O.loss(variant: .separateClipping, delta: [-1], newFirst: [k], newSecond: [0],
                              oldFirst: [0], oldSecond: [0])
            #expect(isClose(v1.firstGradient[0], 0.5 * exp(k), tolerance: 1e-12))
            #expect(v1.firstGradient[0] > previous)
            #expect(isClose(v1.value, 0.5 * exp(k) + 0.5 * (-1) * 10 * 1, tolerance: 1e-12))   // L₂ = Δ·clip(ρ₁)·ρ₂
            previous = v1.firstGradient[0]
            let v2 = P3O.loss(variant: .jointClipping, delta: [-1], newFirst: [k], newSecond: [0],
                              oldFirst: [0], oldSecond: [0])
            #expect(abs(v2.firstGradient[0]) <= 0.5 * 10 + 1e-12)
        }
        #expect(previous > 1e16)
    }

    @Test(arguments: variants, reductions)
    func extremeSequenceLogRatiosStayFinite(variant: P3O.Variant, reduction: P3O.Reduction) {
        // ±500 on every combination of signs and both signs of Δ.
        let logRatios: [(Double, Double)] = [(500, 500), (500, -500), (-500, 500), (-500, -500)]
        for d in [2.0, -2.0] {
            let result = P3O.loss(variant: variant, delta: Array(repeating: d, count: 4),
                                  newFirst: logRatios.map { -600 + $0.0 }, newSecond: logRatios.map { -700 + $0.1 },
                                  oldFirst: Array(repeating: -600, count: 4), oldSecond: Array(repeating: -700, count: 4),
                                  reduction: reduction)
            #expect(result.value.isFinite)
            #expect(result.firstGradient.allSatisfy { $0.isFinite })
            #expect(result.secondGradient.allSatisfy { $0.isFinite })
            // ρ₁ρ₂ = e^{1000} is an honest +∞ in the unclipped pair-ratio diagnostic; the rest are finite.
            #expect(result.diagnostics.filter { !$0.name.hasPrefix("p3o/pair_ratio") }.allSatisfy { $0.value.isFinite })
        }
        // Past exp's range: the weight is clamped in log space, so ρ₁ρ₂ = e^{800}·e^{−800} is 1, not ∞·0.
        let far = P3O.loss(variant: variant, delta: [1], newFirst: [800], newSecond: [-800], oldFirst: [0], oldSecond: [0],
                           reduction: reduction)
        #expect(far.value.isFinite)
        #expect(far.firstGradient.allSatisfy { $0.isFinite } && far.secondGradient.allSatisfy { $0.isFinite })
    }

    @Test func jointWeightIsClampedInLogSpace() {
        let result = P3O.loss(variant: .jointClipping, delta: [1], newFirst: [800], newSecond: [-800.1],
                              oldFirst: [0], oldSecond: [0])
        // ℓ − ℓ₀ = 1600.1 > ε with Δ > 0: clipped, zero gradient, value −Δ·w·(ℓ₀ + ε)/2 with w = e^{−0.1}.
        #expect(result.firstGradient[0] == 0 && result.secondGradient[0] == 0)
        #expect(isClose(result.value, -exp(-0.1) * 0.2 / 2, tolerance: 1e-12))
        #expect(result.diagnostics.value(named: "p3o/weight_mean").map { isClose($0, exp(-0.1)) } == true)
    }
}
