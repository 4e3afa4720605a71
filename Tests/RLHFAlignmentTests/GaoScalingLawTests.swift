import Foundation
import RLHFAlignment
import Testing

/// alignment-losses.md §11 item 7: Gao's forms fit back exactly, R(0) = 0, and the peaks.
@Suite("Gao scaling-law fits")
struct GaoScalingLawTests {
    static let distances = (0...24).map { Double($0) * 0.25 }

    @Test("data generated from either form is fit back exactly, with R² = 1 and R(0) = 0")
    func exactRecovery() throws {
        for (form, alpha, beta) in [(GaoScalingLaw.Form.bestOfN, 0.49, 0.12), (.reinforcement, 0.35, 0.175), (.bestOfN, 0.66, 0.09)] {
            let gold = Self.distances.map { GaoScalingLaw.predict(form, alpha: alpha, beta: beta, distance: $0) }
            let fit = try #require(GaoScalingLaw.fit(form, distances: Self.distances, gold: gold))
            #expect(abs(fit.alpha - alpha) < 1e-10 && abs(fit.beta - beta) < 1e-10, "\(form)")
            #expect(abs(fit.rSquared - 1) < 1e-12)
            #expect(GaoScalingLaw.predict(form, alpha: fit.alpha, beta: fit.beta, distance: 0) == 0)
        }
    }

    @Test("peaks: best-of-n d* = α/2β, R* = α²/4β (Gao's 3M proxy: d* ≈ 2.04, R* ≈ 0.50); RL d* = e^{α/β−1}, R* = βd*, zero at e^{α/β}")
    func peaks() throws {
        let bon = try #require(GaoScalingLaw.fit(.bestOfN, distances: Self.distances,
                                                 gold: Self.distances.map { GaoScalingLaw.predict(.bestOfN, alpha: 0.49, beta: 0.12, distance: $0) }))
        let bonPeak = try #require(bon.peakDistance), bonReward = try #require(bon.peakReward)
        #expect(abs(bonPeak - 0.49 / 0.24) < 1e-9 && abs(bonPeak - 2.0417) < 1e-3)
        #expect(abs(bonReward - 0.5002) < 1e-3)
        let rl = try #require(GaoScalingLaw.fit(.reinforcement, distances: Self.distances,
                                                gold: Self.distances.map { GaoScalingLaw.predict(.reinforcement, alpha: 0.35, beta: 0.175, distance: $0) }))
        let peak = try #require(rl.peakDistance)
        #expect(abs(peak - exp(1.0)) < 1e-8)  // α/β = 2
        let rlReward = try #require(rl.peakReward), rlZero = try #require(rl.zeroDistance)
        #expect(abs(rlReward - 0.175 * exp(1.0)) < 1e-8)
        #expect(abs(rlZero - exp(2.0)) < 1e-8)
        // The closed forms are the maxima of the predictions (a fine grid finds nothing higher).
        for (form, fit) in [(GaoScalingLaw.Form.bestOfN, bon), (.reinforcement, rl)] {
            let best = stride(from: 0.001, through: 10, by: 0.001).map { GaoScalingLaw.predict(form, alpha: fit.alpha, beta: fit.beta, distance: $0) }.max()!
            #expect(best <= fit.peakReward! + 1e-9 && best > fit.peakReward! - 1e-5)
        }
        #expect(abs(GaoScalingLaw.predict(.reinforcement, alpha: rl.alpha, beta: rl.beta, distance: rl.zeroDistance!)) < 1e-9)
    }

    @Test("noise lowers R²; a rising reward has no peak; too few points or KL clamping are handled")
    func edges() throws {
        var generator = SplitMix64(seed: 7)
        let noisy = Self.distances.map { GaoScalingLaw.predict(.bestOfN, alpha: 0.5, beta: 0.1, distance: $0) + 0.05 * (generator.nextUniform() - 0.5) }
        let fit = try #require(GaoScalingLaw.fit(.bestOfN, distances: Self.distances, gold: noisy))
        #expect(fit.rSquared < 1 && fit.rSquared > 0.9)
        let rising = try #require(GaoScalingLaw.fit(.bestOfN, distances: Self.distances, gold: Self.distances.map { $0 + 0.1 * $0 * $0 }))
        #expect(rising.beta < 0 && rising.peakDistance == nil && rising.peakReward == nil)
        #expect(GaoScalingLaw.fit(.reinforcement, distances: [0, 1], gold: [0, 0.3]) == nil)
        #expect(GaoScalingLaw.distance(kl: 4) == 2 && GaoScalingLaw.distance(kl: -0.3) == 0)
    }
}
