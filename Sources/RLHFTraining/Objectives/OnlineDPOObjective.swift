import RLHFAlignment
import RLHFRollouts

/// Online DPO (Guo et al. 2024; TRL `OnlineDPOTrainer`; the P3O paper's DPO baseline, p3o.md §8):
/// two responses per prompt from the current policy, labelled by the reward source (the higher
/// score is chosen), then a direct-preference loss (`DirectPreference.loss`: sigmoid, IPO, hinge,
/// cDPO, robust) against the reference's log-probs of the same responses. A pair whose two scores
/// tie carries no label and is left out of the loss (counted in `objective/tied_pairs`).
public struct OnlineDPOObjective: PolicyObjective, Sendable {
    public struct Parameters: Sendable, Codable, Equatable {
        public var kind: DirectPreference.Kind = .sigmoid
        /// β of the implicit reward (TRL default 0.1).
        public var beta: Double = 0.1
        /// Subtracted from the score of a response without a stop token before labelling (TRL `missing_eos_penalty`).
        public var missingEOSPenalty: Double?

        public init() {}
    }

    public let parameters: Parameters
    public var name: String { "online_dpo" }
    public var samplesPerPrompt: Int { 2 }

    public init(parameters: Parameters) { self.parameters = parameters }

    func score(_ rollout: Rollout) -> Double {
        rollout.reward - (rollout.endedWithEOS ? 0 : parameters.missingEOSPenalty ?? 0)
    }

    public func prepare(_ rollouts: [Rollout], values: [[Double]]?) throws -> [Diagnostic] {
        let pairs = rollouts.pairIndices()
        let margins = pairs.map { abs(score(rollouts[$0.0]) - score(rollouts[$0.1])) }
        return [
            Diagnostic(name: "objective/scores_margin", value: Statistics.meanAndStandardDeviation(margins).mean),
            Diagnostic(name: "objective/tied_pairs", value: Double(margins.filter { $0 == 0 }.count) / Double(max(1, pairs.count))),
            Diagnostic(name: "beta", value: parameters.beta),
        ]
    }

    public func loss(_ minibatch: PolicyMinibatch) -> ObjectiveLoss {
        let rollouts = minibatch.rollouts
        let labelled = rollouts.pairIndices().compactMap { a, b -> (chosen: Int, rejected: Int)? in
            let (sa, sb) = (score(rollouts[a]), score(rollouts[b]))
            return sa == sb ? nil : sa > sb ? (a, b) : (b, a)
        }
        var perSequence = [Double](repeating: 0, count: rollouts.count)
        guard !labelled.isEmpty else {
            return ObjectiveLoss(value: 0, logProbGradients: ObjectiveLoss.broadcast(perSequence, like: minibatch.logProbs), diagnostics: [])
        }
        let current = minibatch.logProbs.map { $0.reduce(0, +) }
        let result = DirectPreference.loss(
            kind: parameters.kind,
            policyChosen: labelled.map { current[$0.chosen] }, policyRejected: labelled.map { current[$0.rejected] },
            referenceChosen: labelled.map { rollouts[$0.chosen].referenceSequenceLogProb },
            referenceRejected: labelled.map { rollouts[$0.rejected].referenceSequenceLogProb },
            beta: parameters.beta,
            chosenLengths: labelled.map { rollouts[$0.chosen].length }, rejectedLengths: labelled.map { rollouts[$0.rejected].length })
        for (k, pair) in labelled.enumerated() {
            perSequence[pair.chosen] = result.chosenGradient[k]
            perSequence[pair.rejected] = result.rejectedGradient[k]
        }
        return ObjectiveLoss(value: result.value, logProbGradients: ObjectiveLoss.broadcast(perSequence, like: minibatch.logProbs),
                             diagnostics: [Diagnostic(name: "loss/policy_avg", value: result.value)] + result.diagnostics)
    }
}
