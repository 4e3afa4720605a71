import ArgumentParser
import RLHF

/// `rlhf grpo`: group relative policy optimization (TRL's `GRPOTrainer`).
struct GRPOCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "grpo",
        abstract: "GRPO: G samples per prompt, group-normalised advantages, token-level clipped surrogate.",
        discussion: """
            Each step samples --num-generations responses to each of --prompts-per-step prompts; \
            each response's advantage is its reward minus its group's mean, divided by the group's \
            std (--scale-rewards group), the batch's (batch) or nothing (none: Dr. GRPO). \
            --loss-type grpo averages tokens per sequence, dr_grpo divides by the sequences × \
            --max-new-tokens, dapo (default) by all tokens. --importance-sampling-level sequence is GSPO.
            """)

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var online: OnlineOptions
    @OptionGroup var rewardOptions: RewardOptions
    @OptionGroup var sampling: SamplingOptions

    @Option(help: "G, responses per prompt (num_generations).") var numGenerations: Int = 8
    @Option(help: "β of the k3 KL toward the reference in the loss (0: no reference term).") var beta: Double = 0
    @Option(help: "ε of the ratio clip (epsilon).") var clip: Double = 0.2
    @Option(help: "DAPO's upper clip ε_high (epsilon_high; default: --clip).") var clipHigh: Double?
    @Option(help: "group, batch or none (Dr. GRPO).") var scaleRewards: String = "group"
    @Option(help: "grpo, dr_grpo or dapo.") var lossType: String = "dapo"
    @Option(help: "token (GRPO) or sequence (GSPO).") var importanceSamplingLevel: String = "token"
    @Option(help: "Passes over each step's samples (num_iterations).") var epochs: Int = 1
    @Option(help: "Prompts per step.") var promptsPerStep: Int = 4
    @Option(help: "Prompts (with all their samples) per optimizer update (default: all of the step's).") var minibatchSize: Int?

    func validate() throws {
        guard numGenerations >= 2 else { throw ValidationError("--num-generations must be at least 2 (a group of one has no variance)") }
        guard beta >= 0, beta.isFinite else { throw ValidationError("--beta must be 0 or more") }
        guard clip >= 0, clip < 1 else { throw ValidationError("--clip must be in [0, 1)") }
        if let clipHigh, clipHigh < 0 { throw ValidationError("--clip-high must be 0 or more") }
        guard GRPO.Scaling(rawValue: scaleRewards) != nil else { throw ValidationError("--scale-rewards must be group, batch or none") }
        guard ["grpo", "dr_grpo", "dapo"].contains(lossType) else { throw ValidationError("--loss-type must be grpo, dr_grpo or dapo") }
        guard GRPO.ImportanceLevel(rawValue: importanceSamplingLevel) != nil else { throw ValidationError("--importance-sampling-level must be token or sequence") }
        guard epochs > 0, promptsPerStep > 0 else { throw ValidationError("--epochs and --prompts-per-step must be positive") }
        if let minibatchSize, !(1...promptsPerStep).contains(minibatchSize) { throw ValidationError("--minibatch-size must be in 1...--prompts-per-step") }
    }

    func run() throws {
        var settings = GRPOObjective.Parameters()
        settings.samplesPerPrompt = numGenerations
        settings.beta = beta
        settings.clip = clip
        settings.clipHigh = clipHigh
        settings.scaling = GRPO.Scaling(rawValue: scaleRewards)!
        settings.aggregation = lossType == "grpo" ? .grpo : lossType == "dapo" ? .dapo : .drGRPO(maximumLength: sampling.maxNewTokens)
        settings.importance = GRPO.ImportanceLevel(rawValue: importanceSamplingLevel)!
        let parameters = online.parameters(sampling: sampling, promptsPerStep: promptsPerStep, epochs: epochs,
                                           groupsPerMinibatch: minibatchSize ?? promptsPerStep)
        try OnlineRun<GRPOObjective>(model: modelOptions.model, options: online, reward: rewardOptions, parameters: parameters).run(
            settings: settings, describe: "G \(numGenerations), β \(beta), ε \(clip), scale \(scaleRewards), loss \(lossType), \(importanceSamplingLevel)-level ratios"
        ) { _ in GRPOObjective(parameters: settings) }
    }
}
