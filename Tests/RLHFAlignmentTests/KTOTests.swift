import Foundation
import RLHFAlignment
import Testing

@Suite("KTO loss")
struct KTOTests {
    let policy: [Double] = [-12.0, -30.5, -8.0, -21.0, -15.2, -5.0, -40.0]
    let reference: [Double] = [-12.5, -30.0, -9.0, -20.0, -15.0, -6.0, -38.0]
    let desirable = [true, false, true, false, false, true, true]

    /// The loss written out naively (TRL's form).
    func naive(z0: Double, beta: Double, wD: Double, wU: Double) -> Double {
        let sigma = { (x: Double) in 1 / (1 + exp(-x)) }
        var total = 0.0
        for i in policy.indices {
            let r = policy[i] - reference[i]
            total += desirable[i] ? wD * (1 - sigma(beta * (r - z0))) : wU * (1 - sigma(beta * (z0 - r)))
        }
        return total / Double(policy.count)
    }

    @Test(arguments: [(0.0, 0.1, 1.0, 1.0), (0.7, 0.5, 1.33, 1.0), (2.0, 2.0, 0.8, 1.7)])
    func valueAndGradientMatchTheNaiveFormulaWithZ0Detached(z0: Double, beta: Double, wD: Double, wU: Double) {
        let result = KTO.loss(policy: policy, reference: reference, desirable: desirable, referencePoint: z0,
                              beta: beta, desirableWeight: wD, undesirableWeight: wU)
        #expect(isClose(result.value, naive(z0: z0, beta: beta, wD: wD, wU: wU)))
        // z0 is held fixed while the policy log-probs move: the stop-gradient of TRL's `kl.detach()`.
        for i in policy.indices {
            let numeric = DoubleFiniteDifference.partial(at: policy, index: i) {
                KTO.loss(policy: $0, reference: reference, desirable: desirable, referencePoint: z0,
                         beta: beta, desirableWeight: wD, undesirableWeight: wU).value
            }
            #expect(isClose(result.gradient[i], numeric, tolerance: 1e-8), "example \(i)")
            #expect(desirable[i] ? result.gradient[i] < 0 : result.gradient[i] > 0)
        }
    }

    /// §11 item 17: z0 ≥ 0, computed from the mismatched pairs only, and a constant of the loss.
    @Test func referencePointIsTheClampedMismatchedMean() {
        #expect(isClose(KTO.referencePoint(mismatchedPolicy: [-10, -20, -5], mismatchedReference: [-11, -19.5, -6]),
                        (1 - 0.5 + 1) / 3))
        #expect(KTO.referencePoint(mismatchedPolicy: [-12, -20], mismatchedReference: [-10, -19]) == 0)
        for seed in UInt64(0)..<20 {
            let p = uniformValues(5, seed: seed, in: -50 ... -1), q = uniformValues(5, seed: seed + 100, in: -50 ... -1)
            #expect(KTO.referencePoint(mismatchedPolicy: p, mismatchedReference: q) >= 0)
        }
        // Had z0 carried gradient (recomputed from the same policy), the derivative would differ.
        let shared = [-10.0, -20.0, -5.0], sharedReference = [-11.0, -19.5, -6.0]
        let detached = KTO.loss(policy: shared, reference: sharedReference, desirable: [true, false, true],
                                referencePoint: KTO.referencePoint(mismatchedPolicy: shared, mismatchedReference: sharedReference),
                                beta: 0.5).gradient[0]
        let attached = DoubleFiniteDifference.partial(at: shared, index: 0) {
            KTO.loss(policy: $0, reference: sharedReference, desirable: [true, false, true],
                     referencePoint: KTO.referencePoint(mismatchedPolicy: $0, mismatchedReference: sharedReference), beta: 0.5).value
        }
        #expect(!isClose(detached, attached, tolerance: 1e-4))
    }

    /// §11 item 17: the desirable loss falls and the undesirable one rises in r_θ; each lies in [0, w].
    @Test func perExampleLossesAreMonotoneAndBounded() {
        let w = 1.7
        var previousDesirable = Double.infinity, previousUndesirable = -Double.infinity
        for r in stride(from: -2000.0, through: 2000.0, by: 50) {
            let d = KTO.loss(policy: [r], reference: [0], desirable: [true], referencePoint: 0.3, beta: 0.1,
                             desirableWeight: w, undesirableWeight: w).value
            let u = KTO.loss(policy: [r], reference: [0], desirable: [false], referencePoint: 0.3, beta: 0.1,
                             desirableWeight: w, undesirableWeight: w).value
            #expect(d >= 0 && d <= w && u >= 0 && u <= w)
            #expect(d <= previousDesirable && u >= previousUndesirable)
            previousDesirable = d
            previousUndesirable = u
        }
        #expect(previousDesirable < 1e-12 && isClose(previousUndesirable, w))
    }

    @Test func diagnosticsFollowTRL() {
        let beta = 0.1, z0 = 0.4
        let d = KTO.loss(policy: policy, reference: reference, desirable: desirable, referencePoint: z0, beta: beta).diagnostics
        let r = zip(policy, reference).map { $0 - $1 }
        let chosen = r.indices.filter { desirable[$0] }, rejected = r.indices.filter { !desirable[$0] }
        let chosenReward = chosen.map { beta * r[$0] }.reduce(0, +) / Double(chosen.count)
        let rejectedReward = rejected.map { beta * r[$0] }.reduce(0, +) / Double(rejected.count)
        #expect(d.map(\.name) == ["rewards/chosen", "logps/chosen", "rewards/rejected", "logps/rejected", "rewards/margins",
                                  "kl", "count/chosen", "count/rejected"])
        #expect(isClose(d.value(named: "rewards/chosen")!, chosenReward))
        #expect(isClose(d.value(named: "rewards/rejected")!, rejectedReward))
        #expect(isClose(d.value(named: "rewards/margins")!, chosenReward - rejectedReward))
        #expect(d.value(named: "kl") == z0)
        #expect(d.value(named: "count/chosen") == 4 && d.value(named: "count/rejected") == 3)
        // A batch without undesirable examples reports no rejected metrics.
        let onlyChosen = KTO.loss(policy: [-3], reference: [-4], desirable: [true], referencePoint: 0).diagnostics
        #expect(onlyChosen.value(named: "rewards/rejected") == nil && onlyChosen.value(named: "rewards/margins") == nil)
    }
}
