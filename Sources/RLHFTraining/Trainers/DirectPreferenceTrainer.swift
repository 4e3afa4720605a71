import RLHFAlignment
import RLHFData
import RLHFModel
import RLHFRollouts
import RLHFTensor

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Offline direct alignment from preference pairs (TRL's `DPOTrainer`): DPO, cDPO, robust DPO,
/// IPO and hinge, each optionally with RPO's SFT term (alignment-losses.md §4); KTO on unpaired
/// data is in `DirectPreferenceTrainer+KTO.swift`.
///
/// Before training, ``prepare(_:policy:reference:paddingToken:batchSize:reuseTrunk:)`` computes
/// the reference model's sequence log-probs once per pair and, when only the top blocks train,
/// the frozen trunk's states once per distinct row; the reference pass and every epoch's
/// training forward start from those states (policy and reference share the lower blocks,
/// checked weight for weight; when they differ the reference runs whole). Each step then:
///
///     learning rate → the next B pairs of this epoch's seeded order → one forward of the 2B rows
///     (chosen rows, then rejected rows; log-probs summed over completion tokens only) →
///     DirectPreference.loss → backward through scatter(sequenceGradient:) → clip → AdamW → report
///
/// The order of an epoch depends only on the seed and the epoch, so a run resumed from a
/// ``Checkpoint`` continues bit for bit. A NaN or ∞ in the log-probs, the loss or the gradient
/// stops the run with a ``TrainingError`` naming the step before anything is applied.
///
/// ```swift
/// let training = try DirectPreferenceTrainer.prepare(pairs, policy: model, reference: nil, paddingToken: 0, batchSize: 8)
/// var state = DirectPreferenceTrainer.initialState(for: model, parameters: parameters)
/// try DirectPreferenceTrainer.train(model: model, optimizer: AdamW(model: model, configuration: parameters.training.optimizer),
///                                   state: &state, training: training, heldOut: nil, parameters: parameters) { event in
///     print(event); return .more
/// }
/// ```
public enum DirectPreferenceTrainer {
    /// Settings of a DPO-family run (TRL `DPOConfig` names in the CLI).
    public struct Parameters: Sendable, Codable, Equatable {
        /// The per-pair loss g(h) (TRL `loss_type`, with `label_smoothing` for cDPO and robust).
        public var loss: DirectPreference.Kind = .sigmoid
        /// β, the strength of the implicit KL to the reference (τ for IPO; TRL default 0.1).
        public var beta: Double = 0.1
        /// RPO's NLL term on the chosen responses (TRL `rpo_alpha`), or nil.
        public var rpo: DirectPreference.RPOTerm? = nil
        /// Epochs, batch size (pairs per step, 2B rows per forward pass), schedule, optimizer,
        /// intervals and seed. TRL `DPOConfig`'s learning rate 1e-6 is for full fine-tuning; with
        /// only the top blocks trainable a larger rate is usual.
        public var training = EpochTraining(learningRate: 1e-6)

        public init() {}
    }

    /// The frozen lower blocks' output for each pair's chosen and rejected rows (shared with the
    /// reward trainer, which builds the same rows).
    public typealias FrozenTrunk = RewardModelTrainer.FrozenTrunk

    /// log π(y|x) of each pair's chosen and rejected completion, summed over completion tokens
    /// (prompt masked).
    public struct PairLogProbs: Sendable, Equatable {
        /// log π(y_w|x) per pair.
        public var chosen: [Double]
        /// log π(y_l|x) per pair.
        public var rejected: [Double]

        public init(chosen: [Double], rejected: [Double]) {
            self.chosen = chosen
            self.rejected = rejected
        }
    }

    /// Pairs ready for training or evaluation: the reference's sequence log-probs, computed once,
    /// and the frozen trunk's states when only the top blocks train.
    public struct PreparedPairs: Sendable {
        /// The pairs, in the order batches index them.
        public let pairs: [TokenizedPair]
        /// log π_ref of every pair (detached; never recomputed).
        public let reference: PairLogProbs
        /// The policy's frozen trunk for every pair (nil: whole forward passes).
        public let trunk: FrozenTrunk?
        /// Whether the reference pass started from `trunk` (policy and reference share those
        /// blocks) rather than running whole.
        public let referenceUsedTrunk: Bool
        /// The padding token of the packed rows.
        public let paddingToken: Int
        /// Predicted completion tokens of each chosen and rejected completion (for IPO's length
        /// normalisation and RPO's average).
        public let chosenLengths: [Int]
        public let rejectedLengths: [Int]
    }

    /// Computes, once, the frozen trunk of `policy` for every row of `pairs` (when its
    /// embeddings and lower blocks are frozen and `reuseTrunk`) and the reference's sequence
    /// log-probs, `batchSize` pairs per forward pass in order.
    ///
    /// - Parameters:
    ///   - reference: the reference model; nil uses `policy` as it stands, i.e. the starting
    ///     model — the same numbers a separate copy gives, as the reference is read only here,
    ///     before any update. A resumed run must pass the original starting model.
    ///   - batchSize: pairs per forward pass (use the run's batch size: evaluation runs the
    ///     policy in the same batches, so an untrained policy scores h = 0 exactly).
    ///   - reuseTrunk: false runs every forward pass whole (for comparisons).
    public static func prepare(
        _ pairs: [TokenizedPair], policy: LlamaModel, reference: LlamaModel?, paddingToken: Int, batchSize: Int,
        reuseTrunk: Bool = true
    ) throws -> PreparedPairs {
        let reference = reference ?? policy
        var trunk: FrozenTrunk?
        if reuseTrunk, !pairs.isEmpty, let block = RewardModelTrainer.frozenBlocks(of: policy) {
            trunk = try RewardModelTrainer.frozenTrunk(
                model: policy, pairs: pairs, block: block, paddingToken: paddingToken, endToken: nil, batchSize: batchSize)
        }
        let shared = trunk.map { t in
            reference === policy || LlamaModel.identicalLowerBlocks([policy, reference], atMost: t.block) == t.block
        } ?? false
        let logProbs = try Self.logProbs(
            model: reference, pairs: pairs, trunk: shared ? trunk : nil, paddingToken: paddingToken, batchSize: batchSize)
        func lengths(_ completions: [[Int]]) -> [Int] {
            zip(pairs, completions).map { max(1, $1.count - ($0.prompt.isEmpty ? 1 : 0)) }
        }
        return PreparedPairs(
            pairs: pairs, reference: logProbs, trunk: trunk, referenceUsedTrunk: shared, paddingToken: paddingToken,
            chosenLengths: lengths(pairs.map(\.chosen)), rejectedLengths: lengths(pairs.map(\.rejected)))
    }

    /// A fresh trainer state for `model`.
    public static func initialState(for model: LlamaModel, parameters: Parameters) -> Checkpoint.TrainerState {
        Checkpoint.TrainerState(step: 0, generator: SeededGenerator(seed: parameters.training.seed), trainable: model.trainable)
    }

    /// What the trainers report; the caller decides what to print or log.
    public enum Progress: Sendable, CustomStringConvertible {
        /// One optimizer step, with the loss's diagnostics (TRL names: `rewards/margins`, …).
        case step(StepMetrics, [Diagnostic])
        /// A held-out evaluation (step 0: before training).
        case evaluation(step: Int, Evaluation)
        /// A checkpoint was written.
        case checkpoint(step: Int, path: String)

        public var description: String {
            switch self {
            case let .step(m, diagnostics):
                func value(_ name: String) -> String { diagnostics.value(named: name).map { format($0) } ?? "n/a" }
                return "step \(m.step)/\(m.totalSteps) loss \(format(m.loss)) accuracy \(value("rewards/accuracies")) margin \(value("rewards/margins")) lr \(format(Double(m.learningRate), digits: 8)) \(Int(m.tokensPerSecond)) tok/s"
            case let .evaluation(step, e):
                return "eval at step \(step): \(e)"
            case let .checkpoint(step, path):
                return "checkpoint at step \(step): \(path)"
            }
        }
    }

    /// Held-out metrics (TRL's names: `eval_loss` and the loss's diagnostics).
    public struct Evaluation: Sendable, Codable, Equatable, CustomStringConvertible {
        /// Held-out pairs (examples for KTO).
        public var count: Int
        /// The loss over every held-out pair at once (TRL `eval_loss`).
        public var loss: Double
        /// `rewards/chosen`, `rewards/rejected`, `rewards/accuracies`, `rewards/margins`,
        /// `logps/chosen`, `logps/rejected` (KTO: no accuracy, plus `kl`).
        public var metrics: [Diagnostic]

        public init(count: Int, loss: Double, metrics: [Diagnostic]) {
            self.count = count
            self.loss = loss
            self.metrics = metrics
        }

        /// The metric called `name` (`"eval_loss"` is ``loss``).
        public func value(named name: String) -> Double? { name == "eval_loss" ? loss : metrics.value(named: name) }

        /// `eval_loss` and the metrics, by name, for a JSONL record.
        public var namedValues: [String: Double] {
            metrics.reduce(into: ["eval_loss": loss]) { $0[$1.name] = $1.value }
        }

        public var description: String {
            (["eval_loss \(format(loss))"] + metrics.filter { !$0.name.hasPrefix("count/") }.map { "\($0.name) \(format($0.value))" })
                .joined(separator: ", ") + " (\(count) held out)"
        }
    }

    /// Trains until every epoch is done or `progress` answers `.stop`, updating `state`.
    /// Evaluates `heldOut` before the first step, every ``EpochTraining/evaluationInterval`` steps
    /// and after the last; `checkpoint` writes a checkpoint of `state` and returns its path (at
    /// the checkpoint interval, at the end and when stopped).
    /// - Parameters:
    ///   - training, heldOut: from ``prepare(_:policy:reference:paddingToken:batchSize:reuseTrunk:)``
    ///     with this `model` as the policy.
    public static func train(
        model: LlamaModel, optimizer: AdamW, state: inout Checkpoint.TrainerState, training: PreparedPairs,
        heldOut: PreparedPairs?, parameters: Parameters, checkpoint: ((Checkpoint.TrainerState) throws -> String)? = nil,
        progress: (Progress) -> TrainingDecision
    ) throws {
        guard !training.pairs.isEmpty else { throw TrainingError.notEnoughData(tokens: 0, needed: 1) }
        let heldOut = heldOut.flatMap { $0.pairs.isEmpty ? nil : $0 }
        try loop(
            model: model, optimizer: optimizer, state: &state, count: training.pairs.count, settings: parameters.training,
            evaluate: heldOut.map { data in { try evaluate(model: model, data: data, parameters: parameters) } },
            checkpoint: checkpoint, progress: progress
        ) { indices, step in
            // One forward of the 2B rows (chosen rows, then rejected rows) → sequence log-probs.
            let batch = indices.map { training.pairs[$0] }
            let spans = Self.spans(batch, paddingToken: training.paddingToken)
            let output = try forward(model: model, spans: spans, trunk: training.trunk, indices: indices, retain: true)
            let policy = spans.sequenceSums(output.tokenLogProbs)
            try NonFiniteCheck.scalars(policy, tensor: "policy sequence log-probs", step: step)
            let n = batch.count
            let reference = PairLogProbs(chosen: indices.map { training.reference.chosen[$0] },
                                         rejected: indices.map { training.reference.rejected[$0] })
            try NonFiniteCheck.scalars(reference.chosen + reference.rejected, tensor: "reference sequence log-probs", step: step)
            let result = loss(policy: PairLogProbs(chosen: Array(policy[..<n]), rejected: Array(policy[n...])), reference: reference,
                              chosenLengths: indices.map { training.chosenLengths[$0] },
                              rejectedLengths: indices.map { training.rejectedLengths[$0] }, parameters: parameters)
            return BatchLoss(spans: spans, value: result.value, sequenceGradient: result.chosenGradient + result.rejectedGradient,
                             diagnostics: result.diagnostics)
        }
    }

    /// The DPO-family loss of `parameters` on given sequence log-probs.
    public static func loss(
        policy: PairLogProbs, reference: PairLogProbs, chosenLengths: [Int], rejectedLengths: [Int], parameters: Parameters
    ) -> DirectPreference.Result {
        DirectPreference.loss(
            kind: parameters.loss, policyChosen: policy.chosen, policyRejected: policy.rejected,
            referenceChosen: reference.chosen, referenceRejected: reference.rejected, beta: parameters.beta,
            chosenLengths: chosenLengths, rejectedLengths: rejectedLengths, rpo: parameters.rpo)
    }

    /// The held-out loss and TRL's metrics of `model` on `data`, over every pair at once. The
    /// policy runs in the batches the reference ran in, so a policy still equal to the
    /// reference scores h = 0 exactly (loss log 2 for DPO, margin 0).
    public static func evaluate(model: LlamaModel, data: PreparedPairs, parameters: Parameters) throws -> Evaluation {
        let policy = try logProbs(model: model, pairs: data.pairs, trunk: data.trunk, paddingToken: data.paddingToken,
                                  batchSize: parameters.training.batchSize)
        let result = loss(policy: policy, reference: data.reference, chosenLengths: data.chosenLengths,
                          rejectedLengths: data.rejectedLengths, parameters: parameters)
        return Evaluation(count: data.pairs.count, loss: result.value, metrics: result.diagnostics)
    }

    /// Sequence log-probs of every pair under `model`, `batchSize` pairs (2·batchSize rows) per
    /// forward pass in order, from `trunk` when given (its blocks must be `model`'s own or
    /// identical to them).
    public static func logProbs(
        model: LlamaModel, pairs: [TokenizedPair], trunk: FrozenTrunk?, paddingToken: Int, batchSize: Int
    ) throws -> PairLogProbs {
        var result = PairLogProbs(chosen: [], rejected: [])
        for first in stride(from: 0, to: pairs.count, by: max(1, batchSize)) {
            let indices = Array(first..<min(pairs.count, first + max(1, batchSize)))
            let spans = spans(indices.map { pairs[$0] }, paddingToken: paddingToken)
            let sums = spans.sequenceSums(try forward(model: model, spans: spans, trunk: trunk, indices: indices, retain: false).tokenLogProbs)
            result.chosen += sums[..<indices.count]
            result.rejected += sums[indices.count...]
        }
        return result
    }

    /// Example indices of `step` (0-based): this epoch's seeded permutation of `count`, cut into
    /// batches (the same scheme as SFT on examples).
    public static func batchIndices(step: Int, count: Int, batchSize: Int, seed: UInt64) -> [Int] {
        let perEpoch = (count + batchSize - 1) / batchSize
        let epoch = step / perEpoch, index = step % perEpoch
        var generator = SeededGenerator(seed: seed &+ 0x9E37_79B9 &* UInt64(epoch + 1))
        var order = Array(0..<count)
        order.shuffle(using: &generator)
        return Array(order[(index * batchSize)..<min(count, (index + 1) * batchSize)])
    }

    // MARK: - Rows and forward passes

    /// Chosen rows then rejected rows: prompt + completion, exactly as encoded (EOS included).
    static func spans(_ batch: [TokenizedPair], paddingToken: Int) -> ResponseSpans {
        ResponseSpans(prompts: batch.map(\.prompt) + batch.map(\.prompt), responses: batch.map(\.chosen) + batch.map(\.rejected),
                      paddingToken: paddingToken)
    }

    /// The forward pass of `spans` (the chosen and rejected rows of pairs `indices`), from the
    /// frozen trunk when given.
    static func forward(model: LlamaModel, spans: ResponseSpans, trunk: FrozenTrunk?, indices: [Int], retain: Bool) throws -> LlamaOutput {
        guard let trunk else { return try model.forward(spans.batch, retainForBackward: retain) }
        let states = TrunkStates(block: trunk.block, width: trunk.chosen.width,
                                 rows: trunk.chosen.rows(indices).rows + trunk.rejected.rows(indices).rows)
        return try model.forward(spans.batch, from: states, retainForBackward: retain)
    }

    // MARK: - The loop both trainers share

    /// One batch's loss: its rows, the value, ∂value/∂(sequence log-prob) per row, diagnostics.
    struct BatchLoss {
        var spans: ResponseSpans
        var value: Double
        var sequenceGradient: [Double]
        var diagnostics: [Diagnostic]
        /// Tokens run in the step besides `spans` (KTO's mismatched rows).
        var extraTokens = 0
    }

    /// lr → batch → `lossOf` (a retained forward and the loss) → backward → clip → AdamW →
    /// report → evaluate → checkpoint, until every epoch is done.
    static func loop(
        model: LlamaModel, optimizer: AdamW, state: inout Checkpoint.TrainerState, count: Int, settings: EpochTraining,
        evaluate: (() throws -> Evaluation)?, checkpoint: ((Checkpoint.TrainerState) throws -> String)?,
        progress: (Progress) -> TrainingDecision, lossOf: (_ indices: [Int], _ step: Int) throws -> BatchLoss
    ) throws {
        let totalSteps = settings.totalSteps(examples: count)
        let schedule = settings.schedule(examples: count)
        let clock = ContinuousClock()
        let start = clock.now
        if state.step == 0, let evaluate {
            if progress(.evaluation(step: 0, try evaluate())) == .stop { return }
        }
        while state.step < totalSteps {
            let stepStart = clock.now
            let step = state.step + 1
            let learningRate = schedule.learningRate(step: state.step, baseRate: settings.learningRate)
            let indices = batchIndices(step: state.step, count: count, batchSize: settings.batchSize, seed: settings.seed)
            model.zeroGradients()
            let batch = try lossOf(indices, step)
            try NonFiniteCheck.scalar(batch.value, tensor: "loss", step: step)
            try NonFiniteCheck.scalars(batch.sequenceGradient, tensor: "loss gradient", step: step)
            try model.backward(tokenLogProbGradients: batch.spans.scatter(sequenceGradient: batch.sequenceGradient.map(Float.init)))
            let norm = try OptimizerStep.apply(
                model, optimizer: optimizer, learningRate: learningRate, maximumGradientNorm: settings.maximumGradientNorm,
                step: step, loss: batch.value)
            state.step = step
            let seconds = (clock.now - stepStart).seconds
            let metrics = StepMetrics(
                step: step, totalSteps: totalSteps, loss: batch.value, learningRate: learningRate, gradientNorm: norm,
                tokensPerSecond: Double(batch.spans.batch.tokenCount + batch.extraTokens) / max(seconds, 1e-9),
                elapsedSeconds: (clock.now - start).seconds)
            var decision = progress(.step(metrics, batch.diagnostics))
            let last = step == totalSteps
            if let evaluate, last || (settings.evaluationInterval > 0 && step % settings.evaluationInterval == 0) {
                if progress(.evaluation(step: step, try evaluate())) == .stop { decision = .stop }
            }
            if let checkpoint,
               last || decision == .stop || (settings.checkpointInterval > 0 && step % settings.checkpointInterval == 0) {
                let path = try checkpoint(state)
                if progress(.checkpoint(step: step, path: path)) == .stop { decision = .stop }
            }
            if decision == .stop { return }
        }
    }
}
