import RLHFData
import RLHFModel
import RLHFTensor

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// SFT on dataset examples (TRL's `text`, `messages`, `prompt` + `completion` formats), with the
/// loss on the tokens each example's mask selects: completion-only for prompt + completion,
/// assistant turns only for `messages`, every token for `text`.
///
/// Each step: learning rate from the schedule → the next B examples of this epoch's seeded order
/// (the order depends only on the seed and the epoch, so a resumed run continues exactly) →
/// forward → masked mean NLL over the selected tokens of the batch → backward → clip → AdamW →
/// report.
extension SFTTrainer {
    /// Settings of an example-based SFT run (TRL `SFTConfig` names in the CLI).
    public struct ExampleParameters: Sendable, Codable, Equatable {
        /// Epochs, batch size (examples per step), schedule, optimizer, intervals and seed
        /// (TRL `SFTConfig` learning rate 2e-5).
        public var training = EpochTraining(learningRate: 2e-5)
        /// Where checkpoints go.
        public var checkpointDirectory: String?

        public init() {}
    }

    /// A fresh trainer state for an example-based run.
    public static func initialState(for model: LlamaModel, parameters: ExampleParameters, examples: Int) -> Checkpoint.TrainerState {
        Checkpoint.TrainerState(step: 0, generator: SeededGenerator(seed: parameters.training.seed), trainable: model.trainable)
    }

    /// Example indices of `step` (0-based): this epoch's seeded permutation, cut into batches.
    public static func batchIndices(step: Int, examples: Int, parameters: ExampleParameters) -> [Int] {
        let batchSize = parameters.training.batchSize
        let perEpoch = (examples + batchSize - 1) / batchSize
        let epoch = step / perEpoch, index = step % perEpoch
        var generator = SeededGenerator(seed: parameters.training.seed &+ 0x9E37_79B9 &* UInt64(epoch + 1))
        var order = Array(0..<examples)
        order.shuffle(using: &generator)
        return Array(order[(index * batchSize)..<min(examples, (index + 1) * batchSize)])
    }

    /// Right-padded rows and the [B, T] loss weights of their masks.
    public static func pack(_ examples: [TokenizedSFTExample], paddingToken: Int) -> (batch: TokenBatch, weights: [Float]) {
        let batch = TokenBatch(rows: examples.map(\.tokens), paddingToken: paddingToken)
        var weights = [Float](repeating: 0, count: batch.batchSize * batch.sequenceLength)
        for (b, example) in examples.enumerated() {
            for (t, selected) in example.lossMask.enumerated() where selected { weights[b * batch.sequenceLength + t] = 1 }
        }
        return (batch, weights)
    }

    /// Trains until every epoch is done or `progress` answers `.stop`, updating `state`;
    /// `checkpoint` writes a checkpoint (it is called at the checkpoint interval and at the end).
    public static func train(
        model: LlamaModel, optimizer: AdamW, state: inout Checkpoint.TrainerState, examples: [TokenizedSFTExample],
        heldOut: [TokenizedSFTExample], parameters: ExampleParameters, paddingToken: Int,
        checkpoint: ((Checkpoint.TrainerState) throws -> String)? = nil, progress: (TrainingProgress) -> TrainingDecision
    ) throws {
        guard !examples.isEmpty else { throw TrainingError.notEnoughData(tokens: 0, needed: 1) }
        let settings = parameters.training
        let totalSteps = settings.totalSteps(examples: examples.count)
        let schedule = settings.schedule(examples: examples.count)
        let clock = ContinuousClock()
        let start = clock.now
        if state.step == 0, !heldOut.isEmpty {
            let loss = try evaluate(model: model, examples: heldOut, batchSize: settings.batchSize, paddingToken: paddingToken)
            if progress(.evaluation(step: 0, loss: loss)) == .stop { return }
        }
        while state.step < totalSteps {
            let stepStart = clock.now
            let learningRate = schedule.learningRate(step: state.step, baseRate: settings.learningRate)
            let rows = batchIndices(step: state.step, examples: examples.count, parameters: parameters).map { examples[$0] }
            let (batch, weights) = pack(rows, paddingToken: paddingToken)
            model.zeroGradients()
            let output = try model.forward(batch, retainForBackward: true)
            let (loss, dLogProbs) = LanguageModelingLoss.mean(logProbs: output.tokenLogProbs, batch: batch, weights: weights)
            try model.backward(tokenLogProbGradients: dLogProbs)
            let norm = try OptimizerStep.apply(
                model, optimizer: optimizer, learningRate: learningRate, maximumGradientNorm: settings.maximumGradientNorm,
                step: state.step + 1, loss: loss)
            state.step += 1
            let seconds = (clock.now - stepStart).seconds
            var decision = progress(.step(StepMetrics(
                step: state.step, totalSteps: totalSteps, loss: loss, learningRate: learningRate, gradientNorm: norm,
                tokensPerSecond: Double(batch.tokenCount) / max(seconds, 1e-9), elapsedSeconds: (clock.now - start).seconds)))
            let last = state.step == totalSteps
            if !heldOut.isEmpty, last || (settings.evaluationInterval > 0 && state.step % settings.evaluationInterval == 0) {
                let evaluation = try evaluate(model: model, examples: heldOut, batchSize: settings.batchSize, paddingToken: paddingToken)
                if progress(.evaluation(step: state.step, loss: evaluation)) == .stop { decision = .stop }
            }
            if let checkpoint,
               last || decision == .stop || (settings.checkpointInterval > 0 && state.step % settings.checkpointInterval == 0) {
                let path = try checkpoint(state)
                if progress(.checkpoint(step: state.step, path: path)) == .stop { decision = .stop }
            }
            if decision == .stop { break }
        }
    }

    /// Masked mean NLL over every selected token of `examples` (token-weighted, in batches).
    public static func evaluate(model: LlamaModel, examples: [TokenizedSFTExample], batchSize: Int, paddingToken: Int) throws -> Double {
        var total = 0.0, count = 0.0
        for first in stride(from: 0, to: examples.count, by: max(1, batchSize)) {
            let rows = Array(examples[first..<min(examples.count, first + max(1, batchSize))])
            let (batch, weights) = pack(rows, paddingToken: paddingToken)
            let output = try model.forward(batch)
            let (loss, _) = LanguageModelingLoss.mean(logProbs: output.tokenLogProbs, batch: batch, weights: weights)
            var selected = 0.0
            for b in 0..<batch.batchSize {
                for t in 1..<max(1, Int(batch.lengths[b])) { selected += Double(weights[b * batch.sequenceLength + t]) }
            }
            total += loss * selected
            count += selected
        }
        return count > 0 ? total / count : .nan
    }
}
