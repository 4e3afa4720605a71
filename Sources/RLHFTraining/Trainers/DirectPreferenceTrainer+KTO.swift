import RLHFAlignment
import RLHFData
import RLHFModel
import RLHFRollouts
import RLHFTensor

/// KTO on unpaired data (TRL's `KTOTrainer`; `prompt`, `completion`, `label` records;
/// alignment-losses.md §4.4).
///
/// The reference point z0 comes from mismatched (prompt, completion) pairs, as TRL builds them:
/// before training, the examples are cut into consecutive chunks of B in file order and each
/// example's prompt is paired with the completion of the example before it in its chunk (the
/// first with the last; TRL's `_get_kl_dataset`, run with `batch_size = per_device_train_batch_size`).
/// So the mismatched rows are fixed per example, and their reference log-probs and frozen trunk
/// are computed once like the matched rows'. Each step:
///
///     learning rate → the next B examples of this epoch's seeded order → forward of their
///     mismatched rows (no gradient) → z0 = max(0, mean(log π − log π_ref)), detached → one
///     retained forward of the B matched rows → KTO.loss → backward → clip → AdamW → report
extension DirectPreferenceTrainer {
    /// Settings of a KTO run (TRL `KTOConfig` names in the CLI).
    public struct KTOParameters: Sendable, Codable, Equatable {
        /// β (TRL default 0.1).
        public var beta: Double = 0.1
        /// w_D, the weight of desirable examples' losses (TRL `desirable_weight`, default 1).
        public var desirableWeight: Double = 1
        /// w_U, the weight of undesirable examples' losses (TRL `undesirable_weight`, default 1).
        public var undesirableWeight: Double = 1
        /// Epochs, batch size (examples per step, and the chunk size of the mismatched pairs),
        /// schedule, optimizer, intervals and seed (TRL `KTOConfig` learning rate 1e-6, for full
        /// fine-tuning).
        public var training = EpochTraining(learningRate: 1e-6)

        public init() {}
    }

    /// Unpaired examples ready for KTO: each example's mismatched completion, the reference's
    /// log-probs of both rows, computed once, and the frozen trunk of both.
    public struct PreparedExamples: Sendable {
        /// The examples, in the order batches index them.
        public let examples: [TokenizedUnpairedExample]
        /// The completion paired with each example's prompt for z0.
        public let mismatched: [[Int]]
        /// log π_ref of each example's own row (`chosen`) and of its mismatched row (`rejected`).
        public let reference: PairLogProbs
        /// The policy's frozen trunk: `chosen` the examples' rows, `rejected` the mismatched rows.
        public let trunk: FrozenTrunk?
        /// Whether the reference pass started from `trunk`.
        public let referenceUsedTrunk: Bool
        /// The padding token of the packed rows.
        public let paddingToken: Int

        /// The examples as (prompt, own completion, mismatched completion) rows.
        var rows: [TokenizedPair] {
            zip(examples, mismatched).map { TokenizedPair(prompt: $0.prompt, chosen: $0.completion, rejected: $1, line: $0.line) }
        }
    }

    /// The mismatched completion of each example: chunks of `batchSize` in order, each example
    /// paired with the completion before it in its chunk (the first with the last).
    public static func mismatchedCompletions(_ examples: [TokenizedUnpairedExample], batchSize: Int) -> [[Int]] {
        var result = [[Int]]()
        result.reserveCapacity(examples.count)
        for first in stride(from: 0, to: examples.count, by: max(1, batchSize)) {
            let chunk = examples[first..<min(examples.count, first + max(1, batchSize))].map(\.completion)
            result += [chunk[chunk.count - 1]] + chunk.dropLast()
        }
        return result
    }

    /// Computes, once, the mismatched pairs, the frozen trunk of `policy` for every row (own and
    /// mismatched) and the reference's sequence log-probs of both.
    /// - Parameter reference: as for ``prepare(_:policy:reference:paddingToken:batchSize:reuseTrunk:)``.
    public static func prepareKTO(
        _ examples: [TokenizedUnpairedExample], policy: LlamaModel, reference: LlamaModel?, paddingToken: Int, batchSize: Int,
        reuseTrunk: Bool = true
    ) throws -> PreparedExamples {
        let mismatched = mismatchedCompletions(examples, batchSize: batchSize)
        let rows = zip(examples, mismatched).map { TokenizedPair(prompt: $0.prompt, chosen: $0.completion, rejected: $1) }
        let prepared = try prepare(rows, policy: policy, reference: reference, paddingToken: paddingToken, batchSize: batchSize,
                                   reuseTrunk: reuseTrunk)
        return PreparedExamples(examples: examples, mismatched: mismatched, reference: prepared.reference, trunk: prepared.trunk,
                                referenceUsedTrunk: prepared.referenceUsedTrunk, paddingToken: paddingToken)
    }

    /// TRL's check of the loss weights: nil when w_D·n_D / (w_U·n_U) ∈ [1, 4/3] (Ethayarajh et
    /// al. Eq. 8), else a warning with the ranges that would fix it. Counts of 0 count as 1, as
    /// in TRL. Unlike TRL, this also warns when n_D = n_U (TRL only checks unequal counts).
    public static func weightWarning(desirable: Int, undesirable: Int, parameters: KTOParameters) -> String? {
        let nD = Double(max(1, desirable)), nU = Double(max(1, undesirable))
        let wD = parameters.desirableWeight, wU = parameters.undesirableWeight
        let ratio = wD * nD / (wU * nU)
        guard !(1...(4.0 / 3)).contains(ratio) else { return nil }
        func f(_ x: Double) -> String { String(Double((x * 100).rounded()) / 100) }
        return "desirable_weight·n_desirable / (undesirable_weight·n_undesirable) = \(f(wD)) · \(desirable) / (\(f(wU)) · \(undesirable)) = \(f(ratio)), outside [1, 4/3]: "
            + "with these counts use EITHER --desirable-weight in [\(f(nU * wU / nD)), \(f(nU * wU / nD * 4 / 3))] "
            + "OR --undesirable-weight in [\(f(nD * wD / nU * 3 / 4)), \(f(nD * wD / nU))] (but not both)"
    }

    /// Trains with KTO until every epoch is done or `progress` answers `.stop`, updating `state`;
    /// evaluation and checkpoints as in ``train(model:optimizer:state:training:heldOut:parameters:checkpoint:progress:)``.
    public static func trainKTO(
        model: LlamaModel, optimizer: AdamW, state: inout Checkpoint.TrainerState, training: PreparedExamples,
        heldOut: PreparedExamples?, parameters: KTOParameters, checkpoint: ((Checkpoint.TrainerState) throws -> String)? = nil,
        progress: (Progress) -> TrainingDecision
    ) throws {
        guard !training.examples.isEmpty else { throw TrainingError.notEnoughData(tokens: 0, needed: 1) }
        let heldOut = heldOut.flatMap { $0.examples.isEmpty ? nil : $0 }
        let rows = training.rows
        try loop(
            model: model, optimizer: optimizer, state: &state, count: rows.count, settings: parameters.training,
            evaluate: heldOut.map { data in { try evaluateKTO(model: model, data: data, parameters: parameters) } },
            checkpoint: checkpoint, progress: progress
        ) { indices, step in
            // z0 from the mismatched rows, under the current policy, without gradient.
            let mismatchedSpans = ResponseSpans(prompts: indices.map { rows[$0].prompt }, responses: indices.map { rows[$0].rejected },
                                                paddingToken: training.paddingToken)
            let mismatchedStates = training.trunk.map { TrunkStates(block: $0.block, width: $0.rejected.width, rows: $0.rejected.rows(indices).rows) }
            let mismatchedPolicy = mismatchedSpans.sequenceSums(
                try forward(model: model, batch: mismatchedSpans.batch, states: mismatchedStates, retain: false).tokenLogProbs)
            try NonFiniteCheck.scalars(mismatchedPolicy, tensor: "mismatched-pair log-probs", step: step)
            let z0 = KTO.referencePoint(mismatchedPolicy: mismatchedPolicy,
                                        mismatchedReference: indices.map { training.reference.rejected[$0] })

            // One retained forward of the B examples' own rows → KTO loss.
            let spans = ResponseSpans(prompts: indices.map { rows[$0].prompt }, responses: indices.map { rows[$0].chosen },
                                      paddingToken: training.paddingToken)
            let states = training.trunk.map { TrunkStates(block: $0.block, width: $0.chosen.width, rows: $0.chosen.rows(indices).rows) }
            let policy = spans.sequenceSums(try forward(model: model, batch: spans.batch, states: states, retain: true).tokenLogProbs)
            try NonFiniteCheck.scalars(policy, tensor: "policy sequence log-probs", step: step)
            let reference = indices.map { training.reference.chosen[$0] }
            try NonFiniteCheck.scalars(reference, tensor: "reference sequence log-probs", step: step)
            let result = KTO.loss(
                policy: policy, reference: reference, desirable: indices.map { training.examples[$0].label }, referencePoint: z0,
                beta: parameters.beta, desirableWeight: parameters.desirableWeight, undesirableWeight: parameters.undesirableWeight)
            return BatchLoss(spans: spans, value: result.value, sequenceGradient: result.gradient, diagnostics: result.diagnostics,
                             extraTokens: mismatchedSpans.batch.tokenCount)
        }
    }

    /// The held-out KTO loss and TRL's metrics of `model` on `data`, over every example at once
    /// (one z0 from all held-out mismatched pairs).
    public static func evaluateKTO(model: LlamaModel, data: PreparedExamples, parameters: KTOParameters) throws -> Evaluation {
        let policy = try logProbs(model: model, pairs: data.rows, trunk: data.trunk, paddingToken: data.paddingToken,
                                  batchSize: parameters.training.batchSize)
        let z0 = KTO.referencePoint(mismatchedPolicy: policy.rejected, mismatchedReference: data.reference.rejected)
        let result = KTO.loss(
            policy: policy.chosen, reference: data.reference.chosen, desirable: data.examples.map(\.label), referencePoint: z0,
            beta: parameters.beta, desirableWeight: parameters.desirableWeight, undesirableWeight: parameters.undesirableWeight)
        return Evaluation(count: data.examples.count, loss: result.value, metrics: result.diagnostics)
    }

    static func forward(model: LlamaModel, batch: TokenBatch, states: TrunkStates?, retain: Bool) throws -> LlamaOutput {
        guard let states else { return try model.forward(batch, retainForBackward: retain) }
        return try model.forward(batch, from: states, retainForBackward: retain)
    }
}
