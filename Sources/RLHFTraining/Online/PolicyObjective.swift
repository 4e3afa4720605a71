import RLHFAlignment
import RLHFRollouts

/// One minibatch of a rollout phase as an objective sees it: whole prompt groups, with the
/// current policy's log-probs of every response token from the forward pass that backward will
/// follow (detached copies in Double).
public struct PolicyMinibatch: Sendable {
    /// Indices into the phase's rollouts (whole groups, in minibatch order).
    public let indices: [Int]
    /// The rollouts at `indices`.
    public let rollouts: [Rollout]
    /// log π_θ(y_t | x, y_<t) for each response token of each rollout, under the current parameters.
    public let logProbs: [[Double]]
    /// The value head's prediction V(x, y_<t) for each response token, read at the position
    /// before it (objectives with `usesValues`), else nil.
    public let values: [[Double]]?
    /// Which inner epoch (0-based) this minibatch belongs to.
    public let epoch: Int

    public init(indices: [Int], rollouts: [Rollout], logProbs: [[Double]], values: [[Double]]? = nil, epoch: Int = 0) {
        self.indices = indices
        self.rollouts = rollouts
        self.logProbs = logProbs
        self.values = values
        self.epoch = epoch
    }
}

/// A minibatch loss and its gradients with respect to what the model produced.
public struct ObjectiveLoss: Sendable {
    public var value: Double
    /// ∂value/∂ log π_θ(y_t|·) per response token, shaped like ``PolicyMinibatch/logProbs``.
    public var logProbGradients: [[Double]]
    /// ∂value/∂V_t per response token, when the objective trains a value head.
    public var valueGradients: [[Double]]?
    /// In a stable order; averaged over a phase's minibatches in the step report.
    public var diagnostics: [Diagnostic]

    public init(value: Double, logProbGradients: [[Double]], valueGradients: [[Double]]? = nil, diagnostics: [Diagnostic]) {
        self.value = value
        self.logProbGradients = logProbGradients
        self.valueGradients = valueGradients
        self.diagnostics = diagnostics
    }
}

/// What distinguishes P3O, RLOO, GRPO, PPO and online DPO inside ``OnlineTrainer``: how many
/// samples each prompt gets, what is computed once per phase from the scored rollouts
/// (advantages, preference labels), and the minibatch loss — a pure function of arrays from
/// `RLHFAlignment`. The trainer owns sampling, scoring, forward, backward, clipping, the update,
/// checkpoints and reports.
public protocol PolicyObjective {
    /// The metrics prefix and the name in reports (`"p3o"`, `"rloo"`, …).
    var name: String { get }
    /// Responses sampled per prompt (2 for P3O and online DPO, k for RLOO and GRPO).
    var samplesPerPrompt: Int { get }
    /// Whether minibatches need the value head's predictions (PPO).
    var usesValues: Bool { get }
    /// Called once per phase with every scored rollout (and, with `usesValues`, the values of the
    /// rollout-time model) before any update; returns phase-level metrics.
    mutating func prepare(_ rollouts: [Rollout], values: [[Double]]?) throws -> [Diagnostic]
    /// The loss of one minibatch.
    func loss(_ minibatch: PolicyMinibatch) -> ObjectiveLoss
    /// Called after the phase's updates (e.g. an adaptive KL controller's step); returns metrics.
    mutating func finish(_ rollouts: [Rollout]) throws -> [Diagnostic]
    /// State that must survive a checkpoint (e.g. an adaptive β), as exact strings.
    var checkpointState: [String: String] { get }
    /// Restores ``checkpointState``.
    mutating func restore(_ state: [String: String]) throws
}

extension PolicyObjective {
    public var usesValues: Bool { false }
    public mutating func finish(_ rollouts: [Rollout]) throws -> [Diagnostic] { [] }
    public var checkpointState: [String: String] { [:] }
    public mutating func restore(_ state: [String: String]) throws {}
}

extension ObjectiveLoss {
    /// Broadcasts one gradient per sequence (∂L/∂ Σ_t log π) to every token of that sequence.
    public static func broadcast(_ perSequence: [Double], like logProbs: [[Double]]) -> [[Double]] {
        precondition(perSequence.count == logProbs.count, "one gradient per sequence")
        return zip(perSequence, logProbs).map { g, tokens in [Double](repeating: g, count: tokens.count) }
    }
}

extension Rollout {
    /// Σ_t log π_old(y_t|·): the rollout-time sequence log-probability.
    public var oldSequenceLogProb: Double { oldLogProbs.reduce(0) { $0 + Double($1) } }
    /// Σ_t log π_ref(y_t|·).
    public var referenceSequenceLogProb: Double { referenceLogProbs.reduce(0) { $0 + Double($1) } }
}

extension Array where Element == Rollout {
    /// (index of sample 0, index of sample 1) of each group, in order of first appearance: the
    /// pairs of P3O and online DPO.
    public func pairIndices() -> [(Int, Int)] {
        var firstIndex = [Int: Int](), secondIndex = [Int: Int](), order = [Int]()
        for (i, rollout) in enumerated() {
            if rollout.sample == 0 { firstIndex[rollout.group] = i; order.append(rollout.group) } else { secondIndex[rollout.group] = i }
        }
        return order.map { group in
            guard let a = firstIndex[group], let b = secondIndex[group] else { preconditionFailure("group \(group) is not a pair") }
            return (a, b)
        }
    }
}
