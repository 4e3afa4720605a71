import RLHFAlignment
import RLHFModel
import RLHFRollouts

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The scored rollouts of one phase and what every update of the phase reuses.
///
/// Scoring follows the minibatch plan's first epoch: the rollout-time ("old") log-probs of a
/// minibatch come from the very batch the first update will forward, so in the on-policy case
/// every ratio is exactly 1, not 1 ± rounding. When only the top blocks of the policy train, the
/// frozen trunk's output (the residual entering the lowest trainable block) is computed once per
/// rollout and reused by the old and reference log-probs and by every training forward; the
/// reference shares it whenever its lower blocks are bit-identical to the policy's (checked).
public final class RolloutPhase {
    /// The phase's rollouts, group by group (`group` = the prompt's index in the phase).
    public let rollouts: [Rollout]
    /// Epochs × minibatches × indices into `rollouts` (whole groups).
    public let plan: [[[Int]]]
    /// The value head's predictions of the rollout-time policy per response token (PPO), read at
    /// the position before each token (V(x, y_<t)), else nil.
    public let values: [[Double]]?
    /// What the reward source reported beside its scores (e.g. an ensemble's disagreement).
    public let rewardDiagnostics: [Diagnostic]
    /// Seconds spent: the frozen trunk, old log-probs (and values), reference log-probs, rewards.
    public private(set) var seconds: [String: Double] = [:]

    /// The retained scoring forward of a single-update phase, until ``forward(policy:indices:values:)`` takes it.
    private var pending: (indices: [Int], spans: ResponseSpans, output: LlamaOutput)?
    /// The residual entering `trunkBlock` for each rollout's row (nil: training forwards run whole).
    let trunk: [[Float]]?
    let trunkBlock: Int
    let width: Int
    let paddingToken: Int

    /// Scores `completions` (grouped: `group` numbers the prompt, consecutive samples) in the
    /// batches of `plan`'s first epoch. `sampledTrunkBlock`: the block whose entering states the
    /// completions carry (``RolloutGenerator/captureBlock``); when it is the policy's lowest
    /// trainable block they are the frozen trunk, and no lower block runs again.
    public init(
        completions: [RolloutGenerator.Completion], plan: [[[Int]]], policy: LlamaModel, reference: LlamaModel,
        reward: any RewardSource, values wantValues: Bool = false, sampledTrunkBlock: Int? = nil
    ) throws {
        precondition(!plan.isEmpty, "a plan of at least one epoch")
        let count = completions.count
        precondition(Set(plan[0].joined()) == Set(0..<count) && plan[0].joined().count == count,
                     "the first epoch of the plan must cover every completion once")
        let clock = ContinuousClock()
        let singleUpdate = plan.count == 1 && plan[0].count == 1
        paddingToken = policy.configuration.paddingTokenId ?? 0
        width = policy.configuration.hiddenSize
        let frozen = policy.trainable.tokenEmbedding ? 0 : min(policy.trainable.lowestTrainableBlock, policy.configuration.blockCount)
        let shared = policy === reference ? frozen : LlamaModel.identicalLowerBlocks([policy, reference], atMost: frozen)
        trunkBlock = frozen

        var trunkRows = [[Float]](repeating: [], count: frozen > 0 ? count : 0)
        var old = [[Float]](repeating: [], count: count), referenceLogProbs = [[Float]](repeating: [], count: count)
        var rolloutValues = [[Double]](repeating: [], count: wantValues ? count : 0)
        var seconds = ["trunk": 0.0, "old_logprobs": 0, "reference_logprobs": 0, "reward": 0]
        for indices in plan[0] {
            let spans = ResponseSpans(prompts: indices.map { completions[$0].prompt.tokens },
                                      responses: indices.map { completions[$0].tokens }, paddingToken: paddingToken)
            var started = clock.now
            // The sampler's own trunk states when it kept them for this block, else computed here.
            let sampled = indices.allSatisfy { completions[$0].trunkStates != nil } && sampledTrunkBlock == frozen
            let states = frozen == 0 ? nil : sampled
                ? TrunkStates(block: frozen, width: width, rows: indices.map { completions[$0].trunkStates! })
                : try policy.trunkStates(for: spans.batch, enteringBlock: frozen)
            if let states { for (k, i) in indices.enumerated() { trunkRows[i] = states.rows[k] } }
            seconds["trunk"]! += (clock.now - started).seconds
            started = clock.now
            // A phase of one update (one epoch, one minibatch) is exactly on-policy: the scoring
            // forward is retained and serves as the update's forward, so the policy runs once.
            let retain = singleUpdate
            let policyOutput = try states.map { try policy.forward(spans.batch, from: $0, values: wantValues, retainForBackward: retain) }
                ?? policy.forward(spans.batch, values: wantValues, retainForBackward: retain)
            if retain { pending = (indices, spans, policyOutput) }
            let policyLogProbs = spans.gather(policyOutput.tokenLogProbs)
            let policyValues = wantValues ? spans.gatherPreceding(policyOutput.values) : []
            seconds["old_logprobs"]! += (clock.now - started).seconds
            started = clock.now
            let referenceOutput: LlamaOutput
            if let states, shared == frozen {
                referenceOutput = try reference.forward(spans.batch, from: states)
            } else if shared > 0 {
                referenceOutput = try reference.forward(spans.batch, from: try reference.trunkStates(for: spans.batch, enteringBlock: shared))
            } else {
                referenceOutput = try reference.forward(spans.batch)
            }
            let referenceRows = spans.gather(referenceOutput.tokenLogProbs)
            seconds["reference_logprobs"]! += (clock.now - started).seconds
            for (k, i) in indices.enumerated() {
                old[i] = policyLogProbs[k]
                referenceLogProbs[i] = referenceRows[k]
                if wantValues { rolloutValues[i] = policyValues[k].map(Double.init) }
            }
        }
        let started = clock.now
        let (rewards, rewardDiagnostics) = try reward.checkedScoresAndDiagnostics(for: completions.map(\.rewardInput))
        seconds["reward"] = (clock.now - started).seconds
        rollouts = completions.indices.map { i in
            let c = completions[i]
            return Rollout(
                group: c.group, sample: c.sample, promptTokens: c.prompt.tokens, responseTokens: c.tokens, responseText: c.text,
                finishReason: c.finishReason, oldLogProbs: old[i], samplerLogProbs: c.samplerLogProbs,
                referenceLogProbs: referenceLogProbs[i], reward: rewards[i])
        }
        self.plan = plan
        self.values = wantValues ? rolloutValues : nil
        self.trunk = frozen > 0 ? trunkRows : nil
        self.seconds = seconds
        self.rewardDiagnostics = rewardDiagnostics
    }

    /// The groups of `completions` (indices sharing `group`, in order of first appearance).
    public static func groups(of completions: [RolloutGenerator.Completion]) -> [[Int]] {
        var order = [Int](), members = [Int: [Int]]()
        for (i, c) in completions.enumerated() {
            if members[c.group] == nil { order.append(c.group) }
            members[c.group, default: []].append(i)
        }
        return order.map { members[$0]! }
    }

    /// The training forward of the rollouts at `indices` (from the frozen trunk when there is
    /// one), retained for backward; with the spans that map its [B, T] arrays to responses. The
    /// first call of a single-update phase returns the retained scoring forward. Nothing else
    /// may run a retained forward of the policy in between.
    public func forward(policy: LlamaModel, indices: [Int], values: Bool = false) throws -> (spans: ResponseSpans, output: LlamaOutput) {
        if let pending, pending.indices == indices {
            self.pending = nil
            return (pending.spans, pending.output)
        }
        let spans = ResponseSpans(prompts: indices.map { rollouts[$0].promptTokens },
                                  responses: indices.map { rollouts[$0].responseTokens }, paddingToken: paddingToken)
        if let trunk {
            let states = TrunkStates(block: trunkBlock, width: width, rows: indices.map { trunk[$0] })
            return (spans, try policy.forward(spans.batch, from: states, values: values, retainForBackward: true))
        }
        return (spans, try policy.forward(spans.batch, values: values, retainForBackward: true))
    }

    /// Floats held by the frozen-trunk cache.
    public var trunkFloats: Int { trunk?.reduce(0) { $0 + $1.count } ?? 0 }
}
