import RLHFAlignment
import RLHFRollouts

/// RLOO (Ahmadian et al. 2024; TRL `RLOOTrainer`): k samples per prompt, the sequence reward
/// R = score − β·KL (KL the rollout's k1 sum against the reference, held constant), the
/// leave-one-out advantage A_i = R_i − mean_{j≠i} R_j, and a PPO-clip surrogate on the sequence
/// ratio (`RLOO.loss`). With k = 2, A₁ = R₁ − R₂ = −A₂: P3O's relative signal without its
/// pairwise clipping; on-policy, P3O V1 gives exactly this gradient.
public struct RLOOObjective: PolicyObjective, Sendable {
    public struct Parameters: Sendable, Codable, Equatable {
        /// k, samples per prompt (TRL `num_generations`, default 2).
        public var samplesPerPrompt: Int = 2
        /// β of the KL in the reward (TRL default 0.05).
        public var beta: Double = 0.05
        /// ε of the ratio clip.
        public var clip: Double = 0.2
        /// Whiten the advantages over the batch (TRL `normalize_advantages`, default off).
        public var normalizeAdvantages = false

        public init() {}
    }

    public let parameters: Parameters
    /// The advantage of each rollout of the current phase.
    public private(set) var advantages: [Double] = []
    public var name: String { "rloo" }
    public var samplesPerPrompt: Int { parameters.samplesPerPrompt }

    public init(parameters: Parameters) {
        precondition(parameters.samplesPerPrompt >= 2, "RLOO needs at least 2 samples per prompt")
        self.parameters = parameters
    }

    public mutating func prepare(_ rollouts: [Rollout], values: [[Double]]?) throws -> [Diagnostic] {
        let kl = rollouts.map(\.sequenceLogRatio), scores = rollouts.map(\.reward)
        let rewards = RLOO.penalizedRewards(scores: scores, logRatioSums: kl, beta: parameters.beta)
        advantages = RLOO.advantages(rewards: rewards, groupSize: parameters.samplesPerPrompt)
        if parameters.normalizeAdvantages { advantages = PPO.whiten([advantages])[0] }
        let meanKL = Statistics.meanAndStandardDeviation(kl).mean
        return [
            Diagnostic(name: "objective/non_score_reward", value: -parameters.beta * meanKL),
            Diagnostic(name: "objective/rlhf_reward", value: Statistics.meanAndStandardDeviation(rewards).mean),
        ]
    }

    public func loss(_ minibatch: PolicyMinibatch) -> ObjectiveLoss {
        let result = RLOO.loss(
            logProbs: minibatch.logProbs.map { $0.reduce(0, +) }, oldLogProbs: minibatch.rollouts.map(\.oldSequenceLogProb),
            advantages: minibatch.indices.map { advantages[$0] }, clip: parameters.clip)
        return ObjectiveLoss(value: result.value, logProbGradients: ObjectiveLoss.broadcast(result.gradient, like: minibatch.logProbs),
                             diagnostics: [Diagnostic(name: "loss/policy_avg", value: result.value)] + result.diagnostics)
    }
}
