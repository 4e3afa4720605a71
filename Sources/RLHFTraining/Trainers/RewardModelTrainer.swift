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

/// Bradley–Terry reward-model training on preference pairs (TRL's `RewardTrainer`).
///
/// Each step: learning rate from the schedule → the next B pairs of a seeded shuffle → one batch
/// of 2B rows (chosen rows, then rejected rows) → scalar head at each row's last real token →
/// Bradley–Terry loss (optional margin, optional centering) → backward through the values →
/// clip → AdamW → report. Held-out pairs are scored at the evaluation interval and at the end.
public enum RewardModelTrainer {
    /// Settings of a reward-model run. Every field has TRL's default where TRL has one.
    public struct Parameters: Sendable, Codable, Equatable {
        /// Epochs, batch size (pairs per step), schedule, optimizer, evaluation interval and seed
        /// (member i of an ensemble uses `seed + i`, also for its head). TRL `RewardConfig`'s
        /// learning rate 1e-5 is for full fine-tuning; with only the top blocks trainable a
        /// larger rate is usual. No checkpoints: `checkpointInterval` is unused.
        public var training = EpochTraining(learningRate: 1e-5)
        /// TRL `center_rewards_coefficient` (nil: off; 1e-2 recommended).
        public var centeringCoefficient: Double? = nil
        /// Use each pair's `margin` when the data has one (TRL does whenever the column exists).
        public var useMargins: Bool = true

        public init() {}
    }

    /// Held-out metrics of a reward model (TRL names where TRL has them).
    public struct Evaluation: Sendable, Codable, Equatable {
        public var pairs: Int
        public var loss: Double
        public var accuracy: Double
        /// Mean r_chosen − r_rejected.
        public var margin: Double
        public var meanChosenReward: Double
        public var meanRejectedReward: Double
        public var rewardStandardDeviation: Double
        /// Expected calibration error of σ(r_chosen − r_rejected) as P(chosen preferred), 10 bins,
        /// each pair counted in both orders.
        public var expectedCalibrationError: Double
        /// Brier score of the same probabilities.
        public var brierScore: Double
        /// Pearson correlation of every held-out reward with its response's length in tokens (nil
        /// when undefined): a reward model that mostly counts tokens shows it here.
        public var lengthCorrelation: Double?
    }

    /// The frozen lower blocks' output for each pair's chosen and rejected rows (exactly the rows
    /// the trainer builds), computed once: every epoch, and every ensemble member sharing those
    /// frozen blocks, then runs only the trained top blocks.
    public struct FrozenTrunk: Sendable {
        public let chosen: TrunkStates
        public let rejected: TrunkStates
        public var block: Int { chosen.block }
    }

    /// The block the frozen trunk of `model` ends at: its lowest trainable block, when the
    /// embeddings are frozen and that block is above 0; else nil (nothing to reuse).
    public static func frozenBlocks(of model: LlamaModel) -> Int? {
        let lowest = min(model.trainable.lowestTrainableBlock, model.configuration.blockCount)
        return model.trainable.tokenEmbedding || lowest == 0 ? nil : lowest
    }

    /// The frozen trunk's states for `pairs` under `model` (blocks below `block`). A row that
    /// occurs in several pairs (a response paired with several others) is computed once.
    public static func frozenTrunk(
        model: LlamaModel, pairs: [TokenizedPair], block: Int, paddingToken: Int, endToken: Int?, batchSize: Int
    ) throws -> FrozenTrunk {
        let all = spans(pairs, paddingToken: paddingToken, endToken: endToken)
        let rows = (0..<all.count).map { all.batch.row($0) }
        var unique = [[Int]](), slot = [[Int]: Int](), rowSlot = [Int]()
        for row in rows {
            if let existing = slot[row] { rowSlot.append(existing); continue }
            slot[row] = unique.count
            rowSlot.append(unique.count)
            unique.append(row)
        }
        var states = [[Float]]()
        states.reserveCapacity(unique.count)
        let rowsPerBatch = max(1, 2 * batchSize)
        for first in stride(from: 0, to: unique.count, by: rowsPerBatch) {
            let batch = TokenBatch(rows: Array(unique[first..<min(unique.count, first + rowsPerBatch)]), paddingToken: paddingToken)
            states += try model.trunkStates(for: batch, enteringBlock: block).rows
        }
        let width = model.configuration.hiddenSize, n = pairs.count
        return FrozenTrunk(chosen: TrunkStates(block: block, width: width, rows: rowSlot[..<n].map { states[$0] }),
                           rejected: TrunkStates(block: block, width: width, rows: rowSlot[n...].map { states[$0] }))
    }

    /// Scalar-head values of `spans` (chosen rows then rejected rows of `indices`), from the
    /// frozen trunk when given.
    static func values(
        model: LlamaModel, spans: ResponseSpans, trunk: FrozenTrunk?, indices: [Int], retain: Bool
    ) throws -> [Double] {
        let output: LlamaOutput
        if let trunk {
            let states = TrunkStates(block: trunk.block, width: trunk.chosen.width,
                                     rows: indices.map { trunk.chosen.rows[$0] } + indices.map { trunk.rejected.rows[$0] })
            output = try model.forward(spans.batch, from: states, tokenLogProbs: false, values: true, retainForBackward: retain)
        } else {
            output = try model.forward(spans.batch, tokenLogProbs: false, values: true, retainForBackward: retain)
        }
        return spans.last(output.values).map(Double.init)
    }

    /// What the trainer reports.
    public enum Progress: Sendable {
        case step(StepMetrics, accuracy: Double)
        case evaluation(step: Int, Evaluation)
    }

    /// Trains `model` (which must have a scalar head; set `model.trainable` first) on `pairs`.
    /// - Returns: the held-out evaluation at the end (nil when `heldOut` is empty).
    @discardableResult
    /// - Parameters:
    ///   - trunk: the frozen trunk of `pairs` (and `heldOutTrunk` of `heldOut`), from
    ///     ``frozenTrunk(model:pairs:block:paddingToken:endToken:batchSize:)``; nil computes every
    ///     forward pass from the embeddings.
    public static func train(
        model: LlamaModel, pairs: [TokenizedPair], heldOut: [TokenizedPair], parameters: Parameters,
        paddingToken: Int, endToken: Int?, trunk: FrozenTrunk? = nil, heldOutTrunk: FrozenTrunk? = nil,
        progress: (Progress) -> TrainingDecision
    ) throws -> Evaluation? {
        guard model.hasScalarHead else { throw LlamaError.noScalarHead }
        guard !pairs.isEmpty else { throw TrainingError.notEnoughData(tokens: 0, needed: 1) }
        precondition(trunk == nil || trunk?.chosen.rows.count == pairs.count, "the trunk must cover the training pairs")
        precondition(heldOutTrunk == nil || heldOutTrunk?.chosen.rows.count == heldOut.count, "the trunk must cover the held-out pairs")
        let settings = parameters.training
        let totalSteps = settings.totalSteps(examples: pairs.count)
        let schedule = settings.schedule(examples: pairs.count)
        let optimizer = AdamW(model: model, configuration: settings.optimizer)
        var generator = SeededGenerator(seed: settings.seed)
        let start = ContinuousClock.now
        var step = 0
        for _ in 0..<settings.epochs {
            var order = Array(pairs.indices)
            order.shuffle(using: &generator)
            for first in stride(from: 0, to: order.count, by: settings.batchSize) {
                let stepStart = ContinuousClock.now
                let indices = Array(order[first..<min(order.count, first + settings.batchSize)])
                let batch = indices.map { pairs[$0] }
                let learningRate = schedule.learningRate(step: step, baseRate: settings.learningRate)
                model.zeroGradients()
                let spans = Self.spans(batch, paddingToken: paddingToken, endToken: endToken)
                let scores = try values(model: model, spans: spans, trunk: trunk, indices: indices, retain: true)
                let n = batch.count
                let result = BradleyTerry.loss(
                    chosen: Array(scores[..<n]), rejected: Array(scores[n...]),
                    margins: parameters.useMargins ? margins(batch) : nil,
                    centeringCoefficient: parameters.centeringCoefficient ?? 0)
                let gradient = (result.chosenGradient + result.rejectedGradient).map(Float.init)
                try model.backward(valueGradients: spans.scatterLast(gradient))
                step += 1
                let norm = try OptimizerStep.apply(
                    model, optimizer: optimizer, learningRate: learningRate,
                    maximumGradientNorm: settings.maximumGradientNorm, step: step, loss: result.value)
                let seconds = (ContinuousClock.now - stepStart).seconds
                let metrics = StepMetrics(
                    step: step, totalSteps: totalSteps, loss: result.value, learningRate: learningRate, gradientNorm: norm,
                    tokensPerSecond: Double(spans.batch.tokenCount) / max(seconds, 1e-9),
                    elapsedSeconds: (ContinuousClock.now - start).seconds)
                let accuracy = result.diagnostics.first { $0.name == "accuracy" }?.value ?? .nan
                if progress(.step(metrics, accuracy: accuracy)) == .stop { return try finalEvaluation() }
                if settings.evaluationInterval > 0, step % settings.evaluationInterval == 0, step < totalSteps, !heldOut.isEmpty {
                    let evaluation = try evaluate(model: model, pairs: heldOut, paddingToken: paddingToken, endToken: endToken,
                                                  batchSize: settings.batchSize, trunk: heldOutTrunk)
                    if progress(.evaluation(step: step, evaluation)) == .stop { return evaluation }
                }
            }
        }
        func finalEvaluation() throws -> Evaluation? {
            guard !heldOut.isEmpty else { return nil }
            let evaluation = try evaluate(model: model, pairs: heldOut, paddingToken: paddingToken, endToken: endToken,
                                          batchSize: settings.batchSize, trunk: heldOutTrunk)
            _ = progress(.evaluation(step: step, evaluation))
            return evaluation
        }
        return try finalEvaluation()
    }

    /// Chosen rows then rejected rows, each completion ending with `endToken`.
    static func spans(_ batch: [TokenizedPair], paddingToken: Int, endToken: Int?) -> ResponseSpans {
        ResponseSpans(prompts: batch.map(\.prompt) + batch.map(\.prompt), responses: batch.map(\.chosen) + batch.map(\.rejected),
                      paddingToken: paddingToken, endToken: endToken)
    }

    static func margins(_ batch: [TokenizedPair]) -> [Double]? {
        batch.contains { $0.margin != nil } ? batch.map { $0.margin ?? 0 } : nil
    }

    /// Scores of chosen and rejected completions of `pairs`, `batchSize` pairs per forward pass.
    public static func scores(
        model: LlamaModel, pairs: [TokenizedPair], paddingToken: Int, endToken: Int?, batchSize: Int, trunk: FrozenTrunk? = nil
    ) throws -> (chosen: [Double], rejected: [Double]) {
        var chosen = [Double](), rejected = [Double]()
        for first in stride(from: 0, to: pairs.count, by: max(1, batchSize)) {
            let indices = Array(first..<min(pairs.count, first + max(1, batchSize)))
            let batch = indices.map { pairs[$0] }
            let spans = spans(batch, paddingToken: paddingToken, endToken: endToken)
            let values = try values(model: model, spans: spans, trunk: trunk, indices: indices, retain: false)
            chosen += values[..<batch.count]
            rejected += values[batch.count...]
        }
        return (chosen, rejected)
    }

    /// Held-out accuracy, margin, loss, calibration and length correlation.
    public static func evaluate(
        model: LlamaModel, pairs: [TokenizedPair], paddingToken: Int, endToken: Int?, batchSize: Int, trunk: FrozenTrunk? = nil
    ) throws -> Evaluation {
        let (chosen, rejected) = try scores(
            model: model, pairs: pairs, paddingToken: paddingToken, endToken: endToken, batchSize: batchSize, trunk: trunk)
        return evaluation(chosen: chosen, rejected: rejected, pairs: pairs)
    }

    /// The metrics of given held-out scores.
    public static func evaluation(chosen: [Double], rejected: [Double], pairs: [TokenizedPair]) -> Evaluation {
        let loss = BradleyTerry.loss(chosen: chosen, rejected: rejected, margins: margins(pairs))
        // Each pair is seen in both orders, (σ(Δ), chosen preferred) and (1 − σ(Δ), not), so the
        // calibration is measured against a label frequency that is not trivially 1.
        let preferred = zip(chosen, rejected).map { StableMath.sigmoid($0 - $1) }
        let probabilities = preferred + preferred.map { 1 - $0 }
        let outcomes = Array(repeating: true, count: preferred.count) + Array(repeating: false, count: preferred.count)
        let all = chosen + rejected
        let lengths = pairs.map { Double($0.chosen.count) } + pairs.map { Double($0.rejected.count) }
        let (_, deviation) = Statistics.meanAndStandardDeviation(all)
        return Evaluation(
            pairs: pairs.count, loss: loss.value,
            accuracy: Double(zip(chosen, rejected).filter { $0 > $1 }.count) / Double(max(1, pairs.count)),
            margin: zip(chosen, rejected).map { $0 - $1 }.reduce(0, +) / Double(max(1, pairs.count)),
            meanChosenReward: chosen.reduce(0, +) / Double(max(1, chosen.count)),
            meanRejectedReward: rejected.reduce(0, +) / Double(max(1, rejected.count)),
            rewardStandardDeviation: deviation,
            expectedCalibrationError: Calibration.expectedCalibrationError(probabilities: probabilities, outcomes: outcomes),
            brierScore: Calibration.brierScore(probabilities: probabilities, outcomes: outcomes),
            lengthCorrelation: Statistics.pearsonCorrelation(all, lengths))
    }
}
