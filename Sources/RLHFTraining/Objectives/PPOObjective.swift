import RLHFAlignment
import RLHFRollouts

/// PPO for language models (alignment-losses.md §3; TRL's experimental `PPOTrainer`, trlx): a
/// value head on the policy's trunk, the KL to the reference folded into per-token rewards
/// (k1 or k3; the score at the last response token), generalised advantage estimation, whitened
/// advantages, the clipped policy surrogate plus c_v × the clipped value loss, and a fixed or
/// adaptive KL coefficient (Ziegler et al.). Not invariant to per-prompt reward shifts: the
/// negative control of p3o.md §7.
public struct PPOObjective: PolicyObjective, Sendable {
    public struct Parameters: Sendable, Codable, Equatable {
        /// Initial β of the per-token KL penalty (TRL `kl_coef` 0.05).
        public var beta: Double = 0.05
        /// Adaptive controller target KL (nats per sequence); nil keeps β fixed.
        public var klTarget: Double?
        /// Adaptive controller horizon (samples).
        public var klHorizon: Double = 10_000
        public var klEstimator: KLEstimator = .k1
        public var gamma: Double = 1
        public var lambda: Double = 0.95
        /// ε of the policy clip (`cliprange`).
        public var clip: Double = 0.2
        /// Range of the value clip (`cliprange_value`).
        public var valueClip: Double = 0.2
        /// c_v (`vf_coef`, TRL 0.1).
        public var valueCoefficient: Double = 0.1
        /// Subtracted from the score of a response without a stop token (TRL `missing_eos_penalty`).
        public var missingEOSPenalty: Double?
        /// Whiten the per-token rewards (scale only, mean kept; TRL `whiten_rewards`).
        public var whitenRewards = false

        public init() {}
    }

    public let parameters: Parameters
    public private(set) var controller: PPO.AdaptiveKLController
    private var advantages: [[Double]] = []
    private var returns: [[Double]] = []
    private var oldValues: [[Double]] = []
    public var name: String { "ppo" }
    public var samplesPerPrompt: Int { 1 }
    public var usesValues: Bool { true }

    public init(parameters: Parameters) throws {
        self.parameters = parameters
        controller = parameters.klTarget == nil
            ? .fixed(beta: parameters.beta)
            : try PPO.AdaptiveKLController(initialBeta: parameters.beta, target: parameters.klTarget, horizon: parameters.klHorizon)
    }

    public mutating func prepare(_ rollouts: [Rollout], values: [[Double]]?) throws -> [Diagnostic] {
        guard let values else { preconditionFailure("PPO needs the rollout-time values") }
        var scores = rollouts.map(\.reward)
        if let penalty = parameters.missingEOSPenalty {
            for i in rollouts.indices where !rollouts[i].endedWithEOS { scores[i] -= penalty }
        }
        let logRatios = rollouts.map { zip($0.oldLogProbs, $0.referenceLogProbs).map { Double($0) - Double($1) } }
        var rewards = PPO.shapedRewards(scores: scores, logRatios: logRatios, beta: controller.beta, estimator: parameters.klEstimator)
        if parameters.whitenRewards { rewards = PPO.whiten(rewards, shiftMean: false) }
        let estimate = PPO.generalizedAdvantages(rewards: rewards, values: values, gamma: parameters.gamma, lambda: parameters.lambda)
        // Whitening needs two tokens; a phase of one one-token response keeps its raw advantage.
        advantages = estimate.advantages.reduce(0) { $0 + $1.count } >= 2 ? PPO.whiten(estimate.advantages) : estimate.advantages
        returns = estimate.returns
        oldValues = values
        let penalty = logRatios.map { $0.reduce(0) { $0 + parameters.klEstimator.value(logRatio: $1) } }
        let meanPenalty = Statistics.meanAndStandardDeviation(penalty).mean
        return [
            Diagnostic(name: "objective/non_score_reward", value: -controller.beta * meanPenalty),
            Diagnostic(name: "objective/rlhf_reward", value: Statistics.meanAndStandardDeviation(scores).mean - controller.beta * meanPenalty),
            Diagnostic(name: "val/mean_return", value: Statistics.meanAndStandardDeviation(returns.map { $0.first ?? 0 }).mean),
        ]
    }

    public func loss(_ minibatch: PolicyMinibatch) -> ObjectiveLoss {
        guard let values = minibatch.values else { preconditionFailure("PPO minibatches carry values") }
        let policy = PPO.policyLoss(
            logProbs: minibatch.logProbs, oldLogProbs: minibatch.rollouts.map { $0.oldLogProbs.map(Double.init) },
            advantages: minibatch.indices.map { advantages[$0] }, clip: parameters.clip)
        let value = PPO.valueLoss(values: values, oldValues: minibatch.indices.map { oldValues[$0] },
                                  returns: minibatch.indices.map { returns[$0] }, clip: parameters.valueClip)
        let c = parameters.valueCoefficient
        return ObjectiveLoss(
            value: policy.value + c * value.value, logProbGradients: policy.gradient,
            valueGradients: value.gradient.map { $0.map { c * $0 } },
            diagnostics: [Diagnostic(name: "loss/policy_avg", value: policy.value), Diagnostic(name: "loss/value_avg", value: value.value)]
                + policy.diagnostics + value.diagnostics)
    }

    public mutating func finish(_ rollouts: [Rollout]) throws -> [Diagnostic] {
        let kl = Statistics.meanAndStandardDeviation(rollouts.map(\.sequenceLogRatio)).mean
        let used = controller.beta
        try controller.update(currentKL: kl, samples: rollouts.count)
        return [Diagnostic(name: "objective/kl_coef", value: used)]
    }

    public var checkpointState: [String: String] { ["beta": "\(controller.beta)"] }

    public mutating func restore(_ state: [String: String]) throws {
        if let text = state["beta"], let beta = Double(text) { controller.beta = beta }
    }
}
