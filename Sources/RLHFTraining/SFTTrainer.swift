import RLHFModel
import RLHFTensor

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Supervised fine-tuning (next-token prediction) on a token stream.
///
/// Each step: learning rate from the schedule → sample B random windows of T tokens → forward →
/// mean next-token NLL → backward → clip → AdamW → report. Batches are drawn from the trainer's
/// ``SeededGenerator``, whose state is in the checkpoint, so a resumed run continues exactly.
public enum SFTTrainer {
    /// Settings of an SFT run.
    public struct Parameters: Sendable, Codable, Equatable {
        /// Optimizer steps in the whole run.
        public var steps: Int = 300
        /// Windows per step (B).
        public var batchSize: Int = 8
        /// Tokens per window (T).
        public var sequenceLength: Int = 128
        /// Peak learning rate.
        public var learningRate: Float = 3e-3
        /// AdamW settings.
        public var optimizer = AdamW.Configuration(weightDecay: 0.1, decayNormsAndBiases: false)
        /// Warm-up steps of the cosine schedule.
        public var warmupSteps: Int = 20
        /// Final learning rate as a fraction of the peak.
        public var minimumLearningRateRatio: Float = 0.1
        /// Clip the global gradient norm to this value (≤ 0 disables clipping).
        public var maximumGradientNorm: Float = 1
        /// Evaluate on held-out windows every this many steps (0: only at the end).
        public var evaluationInterval: Int = 50
        /// Batches in one evaluation.
        public var evaluationBatches: Int = 4
        /// Write a checkpoint every this many steps (0: only at the end), when a directory is set.
        public var checkpointInterval: Int = 0
        /// Where checkpoints go.
        public var checkpointDirectory: String?
        /// Seed of the batch sampler.
        public var seed: UInt64 = 0

        public init() {}

        /// The learning-rate schedule these settings describe.
        public var schedule: LearningRateSchedule {
            .cosine(warmupSteps: warmupSteps, totalSteps: steps, minimumRatio: minimumLearningRateRatio)
        }
    }

    /// A fresh trainer state for `model` under `parameters`.
    public static func initialState(for model: LlamaModel, parameters: Parameters) -> Checkpoint.TrainerState {
        Checkpoint.TrainerState(step: 0, generator: SeededGenerator(seed: parameters.seed), trainable: model.trainable)
    }

    /// Trains until `parameters.steps` or until `progress` answers `.stop`, updating `state`.
    /// - Parameters:
    ///   - training: the training token stream.
    ///   - validation: held-out tokens for evaluation (may be empty).
    public static func train(
        model: LlamaModel, optimizer: AdamW, state: inout Checkpoint.TrainerState,
        training: [Int32], validation: [Int32], parameters: Parameters,
        progress: (TrainingProgress) -> TrainingDecision
    ) throws {
        let B = parameters.batchSize, T = parameters.sequenceLength
        guard training.count >= T else { throw TrainingError.notEnoughData(tokens: training.count, needed: T) }
        let clock = ContinuousClock()
        let start = clock.now
        while state.step < parameters.steps {
            let stepStart = clock.now
            let learningRate = parameters.schedule.learningRate(step: state.step, baseRate: parameters.learningRate)
            let batch = sampleBatch(from: training, batchSize: B, sequenceLength: T, generator: &state.generator)
            model.zeroGradients()
            let output = try model.forward(batch, retainForBackward: true)
            let (loss, dLogProbs) = LanguageModelingLoss.mean(logProbs: output.tokenLogProbs, batch: batch)
            try model.backward(tokenLogProbGradients: dLogProbs)
            let norm = parameters.maximumGradientNorm > 0
                ? GradientClipping.clip(model, maximumNorm: parameters.maximumGradientNorm)
                : GradientClipping.globalNorm(model)
            guard loss.isFinite, norm.isFinite else {
                throw TrainingError.nonFinite(step: state.step + 1, loss: loss, gradientNorm: norm)
            }
            optimizer.update(model, learningRate: learningRate)
            state.step += 1
            let seconds = (clock.now - stepStart).seconds
            let metrics = StepMetrics(
                step: state.step, totalSteps: parameters.steps, loss: loss, learningRate: learningRate,
                gradientNorm: norm, tokensPerSecond: Double(batch.tokenCount) / max(seconds, 1e-9),
                elapsedSeconds: (clock.now - start).seconds)
            var decision = progress(.step(metrics))
            let last = state.step == parameters.steps
            if !validation.isEmpty,
                last || (parameters.evaluationInterval > 0 && state.step % parameters.evaluationInterval == 0) {
                let evaluation = try evaluate(model: model, tokens: validation, parameters: parameters)
                if progress(.evaluation(step: state.step, loss: evaluation)) == .stop { decision = .stop }
            }
            if let directory = parameters.checkpointDirectory,
                last || decision == .stop
                    || (parameters.checkpointInterval > 0 && state.step % parameters.checkpointInterval == 0) {
                try Checkpoint.save(model: model, optimizer: optimizer, state: state, parameters: parameters, to: directory)
                if progress(.checkpoint(step: state.step, path: directory)) == .stop { decision = .stop }
            }
            if decision == .stop { break }
        }
    }

    /// Mean next-token loss on evenly spaced held-out windows (deterministic).
    public static func evaluate(model: LlamaModel, tokens: [Int32], parameters: Parameters) throws -> Double {
        let T = min(parameters.sequenceLength, tokens.count)
        guard T >= 2 else { return .nan }
        let windows = max(1, parameters.evaluationBatches * parameters.batchSize)
        let span = tokens.count - T
        var total = 0.0
        var batches = 0
        for first in stride(from: 0, to: windows, by: parameters.batchSize) {
            let rows = (first..<min(windows, first + parameters.batchSize)).map { index -> [Int] in
                let offset = windows > 1 ? span * index / (windows - 1) : 0
                return tokens[offset..<(offset + T)].map { Int($0) }
            }
            let batch = TokenBatch(rows: rows)
            let output = try model.forward(batch)
            total += LanguageModelingLoss.mean(logProbs: output.tokenLogProbs, batch: batch).loss
            batches += 1
        }
        return total / Double(batches)
    }

    /// B windows of T consecutive tokens at random offsets.
    public static func sampleBatch(
        from tokens: [Int32], batchSize B: Int, sequenceLength T: Int, generator: inout SeededGenerator
    ) -> TokenBatch {
        var packed = [Int32]()
        packed.reserveCapacity(B * T)
        let positions = UInt64(tokens.count - T + 1)
        for _ in 0..<B {
            let offset = Int(generator.next() % positions)
            packed.append(contentsOf: tokens[offset..<(offset + T)])
        }
        return TokenBatch(tokens: packed, lengths: [Int32](repeating: Int32(T), count: B), sequenceLength: T)
    }
}

extension Duration {
    /// The duration in seconds as a Double.
    public var seconds: Double {
        let (whole, attoseconds) = components
        return Double(whole) + Double(attoseconds) * 1e-18
    }
}
