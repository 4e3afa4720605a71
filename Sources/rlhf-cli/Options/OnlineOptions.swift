import ArgumentParser
import Foundation
import RLHF

/// Options every online trainer shares (`rlhf p3o`, `ppo`, `rloo`, `grpo`, online `dpo`), TRL's
/// names in kebab case where TRL has them.
struct OnlineOptions: ParsableArguments {
    @Option(help: "The reference policy of the KL terms (default: the starting --model).")
    var reference: String?

    @Option(help: "Prompts: a JSONL file with a \"prompt\" field (string or chat messages); other fields go to reward sources.")
    var prompts: String?

    @Option(help: "Alternatively, prompts from any TRL dataset with a \"prompt\" field (e.g. a preference file).")
    var data: String?

    @Option(help: "Directory for the policy: a Hugging Face model directory, with the optimizer and trainer state for --resume.")
    var output: String

    @Option(help: "Rollout steps: each samples, scores and updates once per minibatch and epoch.")
    var steps: Int = 20

    @Option(help: "Random seed (prompt order, sampling, minibatch order).")
    var seed: UInt64 = 0

    @Option(help: "Peak learning rate.")
    var learningRate: Float = 1e-5

    @Option(help: "Learning-rate schedule over all updates: constant or linear (decay to 0).")
    var lrSchedulerType: String = "constant"

    @Option(help: "Train only the top K blocks (the final norm and an untied output head too); the frozen blocks run once per rollout, during sampling. 0 trains everything.")
    var trainableBlocks: Int = 2

    @Option(help: "Clip the global gradient norm to this value (0: no clipping).")
    var maxGradNorm: Float = 1

    @Option(help: "Decoupled (AdamW) weight decay.")
    var weightDecay: Float = 0

    @Option(help: "Append one JSON object per step to this file (JSON Lines, TRL's metric names).")
    var metrics: String?

    @Option(help: "Write a checkpoint every N steps (0: at the end only).")
    var checkpointInterval: Int = 5

    @Flag(help: "Continue from the checkpoint in --output: weights, optimizer moments, step and RNG come from it (the same command resumes exactly).")
    var resume = false

    @Flag(help: "Skip an update whose loss or gradient is NaN or infinite (counted in 'skipped_updates') instead of stopping.")
    var skipNonfiniteUpdates = false

    @Flag(help: "Use prompts as plain text even when the model has a chat template.")
    var noChat = false

    @Option(help: ArgumentHelp(
        "A gold reward, watched and never optimised (any --reward form): logged as objective/gold_scores; the policy at the gold peak is kept in OUTPUT-gold-peak (a Hugging Face directory with gold_peak.json).",
        discussion: "With --gold, or with an ensemble reward, the run warns when gold falls while the proxy rises, or the members' disagreement grows while it rises."))
    var gold: String?

    @Option(help: "Keep only the last N tokens of each prompt (TRL max_prompt_length).")
    var maxPromptTokens: Int?

    func validate() throws {
        guard (prompts == nil) != (data == nil) else { throw ValidationError("give exactly one of --prompts and --data") }
        for (flag, path) in [("--prompts", prompts), ("--data", data), ("--reference", reference)] {
            if let path, !FileManager.default.fileExists(atPath: path) { throw ValidationError("\(flag): no such file or directory: \(path)") }
        }
        guard steps > 0 else { throw ValidationError("--steps must be positive") }
        guard learningRate > 0, learningRate.isFinite else { throw ValidationError("--learning-rate must be positive") }
        guard ["constant", "linear"].contains(lrSchedulerType) else { throw ValidationError("--lr-scheduler-type must be constant or linear") }
        guard trainableBlocks >= 0 else { throw ValidationError("--trainable-blocks must be 0 or more") }
        guard maxGradNorm >= 0 else { throw ValidationError("--max-grad-norm must be 0 or more") }
        guard weightDecay >= 0 else { throw ValidationError("--weight-decay must be 0 or more") }
        guard checkpointInterval >= 0 else { throw ValidationError("--checkpoint-interval must be 0 or more") }
        if let maxPromptTokens, maxPromptTokens <= 0 { throw ValidationError("--max-prompt-tokens must be positive") }
    }

    /// The trainer settings these options (and the sampling options) fix.
    func parameters(
        sampling: SamplingOptions, promptsPerStep: Int, epochs: Int, groupsPerMinibatch: Int
    ) -> OnlineTrainer.Parameters {
        var p = OnlineTrainer.Parameters()
        p.steps = steps
        p.promptsPerStep = promptsPerStep
        p.epochs = epochs
        p.groupsPerMinibatch = groupsPerMinibatch
        p.learningRate = learningRate
        p.linearDecay = lrSchedulerType == "linear"
        p.weightDecay = weightDecay
        p.maximumGradientNorm = maxGradNorm
        p.seed = seed
        p.sampling = sampling.parameters(seed: seed)
        p.stopStrings = sampling.stop
        p.generationBatchSize = sampling.generationBatchSize
        p.samplingWeights = sampling.samplingWeights
        p.checkpointInterval = checkpointInterval
        p.skipNonFiniteUpdates = skipNonfiniteUpdates
        return p
    }
}
