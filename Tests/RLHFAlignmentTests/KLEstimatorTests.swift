import Foundation
import RLHFAlignment
import Testing

@Suite("KL estimators k1, k2, k3")
struct KLEstimatorTests {
    /// log-probs (as the engine's Float32) of a normalised distribution.
    func logProbabilities(_ weights: [Double]) -> [Float] {
        let total = weights.reduce(0, +)
        return weights.map { Float(log($0 / total)) }
    }

    /// E_{y~π}[estimate(y)] and KL(π‖π_ref) computed exactly on a finite support, with π taken
    /// from the same Float log-probs the estimators see.
    func exactExpectation(_ estimator: KLEstimator, policy: [Float], reference: [Float]) -> (expected: Double, kl: Double) {
        let perToken = estimator.perToken(policy: policy, reference: reference)
        var expected = 0.0, kl = 0.0
        for y in policy.indices {
            let p = exp(Double(policy[y]))
            expected += p * perToken[y]
            kl += p * (Double(policy[y]) - Double(reference[y]))
        }
        return (expected, kl)
    }

    @Test func k1AndK3AreUnbiasedOnAnExactDiscreteDistribution() {
        let policy = logProbabilities([0.5, 0.2, 0.2, 0.1])
        let reference = logProbabilities([0.25, 0.25, 0.3, 0.2])
        let (k1, kl) = exactExpectation(.k1, policy: policy, reference: reference)
        let (k3, _) = exactExpectation(.k3, policy: policy, reference: reference)
        let (k2, _) = exactExpectation(.k2, policy: policy, reference: reference)
        #expect(kl > 0.05)
        #expect(abs(k1 - kl) < 1e-12)
        #expect(abs(k3 - kl) < 1e-6)   // Σ π_ref = 1 up to the Float rounding of the log-probs
        #expect(k2 > 0 && abs(k2 - kl) > 1e-3)   // k2 is biased
    }

    @Test func sequenceEstimatesSumTokensInNatsPerSequence() {
        // A two-token autoregressive tree over a vocabulary of 3: π(a, b) = π(a)·π(b | a).
        let policyFirst = logProbabilities([0.6, 0.3, 0.1])
        let referenceFirst = logProbabilities([0.3, 0.3, 0.4])
        let policySecond = [[0.7, 0.2, 0.1], [0.1, 0.1, 0.8], [1.0, 1.0, 1.0]].map(logProbabilities)
        let referenceSecond = [[0.4, 0.4, 0.2], [0.3, 0.3, 0.4], [0.5, 0.2, 0.3]].map(logProbabilities)
        var expected = [KLEstimator: Double](), jointKL = 0.0
        for a in 0..<3 {
            for b in 0..<3 {
                let policy = [policyFirst[a], policySecond[a][b]]
                let reference = [referenceFirst[a], referenceSecond[a][b]]
                let p = exp(Double(policy[0]) + Double(policy[1]))
                let q = exp(Double(reference[0]) + Double(reference[1]))
                jointKL += p * log(p / q)
                for estimator in KLEstimator.allCases {
                    let total = estimator.sequence(policy: policy, reference: reference)
                    #expect(isClose(total, estimator.perToken(policy: policy, reference: reference).reduce(0, +)))
                    expected[estimator, default: 0] += p * total
                }
            }
        }
        #expect(abs(expected[.k1]! - jointKL) < 1e-6)
        #expect(abs(expected[.k3]! - jointKL) < 1e-6)
        #expect(expected[.k2]! > 0)
    }

    @Test func k2AndK3AreNonNegativePerToken() {
        let policy = uniformValues(200, seed: 5, in: -12...0).map(Float.init)
        let reference = uniformValues(200, seed: 6, in: -12...0).map(Float.init)
        #expect(KLEstimator.k2.perToken(policy: policy, reference: reference).allSatisfy { $0 >= 0 })
        #expect(KLEstimator.k3.perToken(policy: policy, reference: reference).allSatisfy { $0 >= 0 })
        #expect(KLEstimator.k1.perToken(policy: policy, reference: reference).contains { $0 < 0 })
    }

    @Test func allEstimatorsAreZeroWhenPolicyEqualsReference() {
        let logProbs = uniformValues(30, seed: 8, in: -9...0).map(Float.init)
        for estimator in KLEstimator.allCases {
            #expect(estimator.perToken(policy: logProbs, reference: logProbs).allSatisfy { $0 == 0 })
            #expect(estimator.sequence(policy: logProbs, reference: logProbs) == 0)
            #expect(estimator.sequence(policy: [], reference: []) == 0)
        }
    }

    @Test func derivativesMatchFiniteDifferences() {
        for estimator in KLEstimator.allCases {
            for ℓ in [-2.0, -0.3, 0, 0.01, 1.7] {
                let numeric = DoubleFiniteDifference.derivative(at: ℓ) { estimator.value(logRatio: $0) }
                #expect(abs(estimator.derivative(logRatio: ℓ) - numeric) < 1e-8, "\(estimator) at \(ℓ)")
            }
        }
    }

    @Test func k3KeepsItsDigitsForTinyLogRatios() {
        for ℓ in [1e-8, -3e-7, 2e-5] {
            let series = ℓ * ℓ / 2 - ℓ * ℓ * ℓ / 6
            #expect(abs(KLEstimator.k3.value(logRatio: ℓ) - series) <= 1e-6 * series)
        }
    }

    @Test func rawValuesAreTheEstimatorNames() {
        #expect(KLEstimator.allCases.map(\.rawValue) == ["k1", "k2", "k3"])
        #expect(KLEstimator(rawValue: "k2") == .k2)
    }
}
