import ArgumentParser
import RLHF

/// Options every trainer shares (TRL's names, in kebab case).
struct TrainingOptions: ParsableArguments {
    @Option(help: "Directory for the trained model (a Hugging Face model directory).")
    var output: String

    @Option(help: "Train only the top K blocks (and the heads); the rest stays frozen. 0 trains every block.")
    var trainableBlocks: Int = 2

    @Option(help: "Passes over the training data.")
    var epochs: Int = 1

    @Option(help: "Examples (pairs for preference data) per optimizer step.")
    var batchSize: Int = 8

    @Option(help: "Peak learning rate (linear warm-up, then linear decay to 0).")
    var learningRate: Float = 1e-5

    @Option(help: "Warm-up steps as a fraction of all steps.")
    var warmupRatio: Double = 0

    @Option(help: "Decoupled (AdamW) weight decay.")
    var weightDecay: Float = 0

    @Option(help: "Clip the global gradient norm to this value (0: no clipping).")
    var maxGradNorm: Float = 1

    @Option(help: "Random seed (data order, head initialisation, held-out split).")
    var seed: UInt64 = 0

    @Option(help: "Append one JSON object per step and evaluation to this file (JSON Lines).")
    var metrics: String?

    /// These options as a trainer's epoch settings, with the command's own interval options
    /// (the reward command has no checkpoints).
    func epochTraining(evaluationInterval: Int, checkpointInterval: Int = 0) -> EpochTraining {
        EpochTraining(
            epochs: epochs, batchSize: batchSize, learningRate: learningRate, warmupRatio: warmupRatio, weightDecay: weightDecay,
            maximumGradientNorm: maxGradNorm, evaluationInterval: evaluationInterval, checkpointInterval: checkpointInterval,
            seed: seed)
    }

    func validate() throws {
        guard trainableBlocks >= 0 else { throw ValidationError("--trainable-blocks must be 0 or more") }
        guard epochs > 0 else { throw ValidationError("--epochs must be positive") }
        guard batchSize > 0 else { throw ValidationError("--batch-size must be positive") }
        guard learningRate > 0, learningRate.isFinite else { throw ValidationError("--learning-rate must be positive") }
        guard (0..<1).contains(warmupRatio) else { throw ValidationError("--warmup-ratio must be in [0, 1)") }
        guard maxGradNorm >= 0 else { throw ValidationError("--max-grad-norm must be 0 or more") }
    }
}
