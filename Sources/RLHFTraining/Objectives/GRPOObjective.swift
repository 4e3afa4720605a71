import RLHFAlignment
import RLHFRollouts

/// GRPO (Shao et al. 2024; TRL `GRPOTrainer`): G samples per prompt, group-relative advantages
/// (`GRPO.advantages`, scaled by the group's std, the batch's, or not at all = Dr. GRPO), a
/// token-level clipped surrogate with optional k3 KL toward the reference in the loss, and TRL's
/// aggregations (`grpo`, `dr_grpo`, `dapo`) and sequence-level ratios (GSPO) (`GRPO.loss`).
public struct GRPOObjective: PolicyObjective, Sendable {
    public struct Parameters: Sendable, Codable, Equatable {
        /// G, samples per prompt (TRL `num_generations`).
        public var samplesPerPrompt: Int = 8
        /// β of the k3 KL in the loss (TRL default 0).
        public var beta: Double = 0
        public var clip: Double = 0.2
        /// DAPO's ε_high (nil: `clip`).
        public var clipHigh: Double?
        /// TRL `scale_rewards`: group, batch or none.
        public var scaling: GRPO.Scaling = .group
        /// TRL `loss_type` (default `dapo`).
        public var aggregation: GRPO.Aggregation = .dapo
        /// TRL `importance_sampling_level`: token (GRPO) or sequence (GSPO).
        public var importance: GRPO.ImportanceLevel = .token

        public init() {}
    }

    public let parameters: Parameters
    public private(set) var advantages: [Double] = []
    public var name: String { "grpo" }
    public var samplesPerPrompt: Int { parameters.samplesPerPrompt }

    public init(parameters: Parameters) {
        precondition(parameters.samplesPerPrompt >= 2, "GRPO needs at least 2 samples per prompt")
        self.parameters = parameters
    }

    public mutating func prepare(_ rollouts: [Rollout], values: [[Double]]?) throws -> [Diagnostic] {
        let rewards = rollouts.map(\.reward)
        let G = parameters.samplesPerPrompt
        advantages = GRPO.advantages(rewards: rewards, groupSize: G, scaling: parameters.scaling)
        var zeroStd = 0, groupStds = 0.0
        for start in stride(from: 0, to: rewards.count, by: G) {
            let group = Array(rewards[start..<(start + G)])
            if group.allSatisfy({ $0 == group[0] }) { zeroStd += 1 }
            groupStds += Statistics.meanAndVariance(group, convention: .sample).variance.squareRoot()
        }
        let groups = Double(rewards.count / G)
        return [
            Diagnostic(name: "reward_std", value: groupStds / groups),
            Diagnostic(name: "frac_reward_zero_std", value: Double(zeroStd) / groups),
        ]
    }

    public func loss(_ minibatch: PolicyMinibatch) -> ObjectiveLoss {
        let result = GRPO.loss(
            logProbs: minibatch.logProbs, oldLogProbs: minibatch.rollouts.map { $0.oldLogProbs.map(Double.init) },
            referenceLogProbs: minibatch.rollouts.map { $0.referenceLogProbs.map(Double.init) },
            advantages: minibatch.indices.map { advantages[$0] }, clip: parameters.clip, clipHigh: parameters.clipHigh,
            beta: parameters.beta, aggregation: parameters.aggregation, importance: parameters.importance)
        return ObjectiveLoss(value: result.value, logProbGradients: result.gradient,
                             diagnostics: [Diagnostic(name: "loss/policy_avg", value: result.value)] + result.diagnostics)
    }
}
