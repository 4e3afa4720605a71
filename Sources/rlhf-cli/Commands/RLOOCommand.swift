import ArgumentParser
import RLHF

/// `rlhf rloo`: REINFORCE leave-one-out (TRL's `RLOOTrainer`).
struct RLOOCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rloo",
        abstract: "RLOO: k samples per prompt, leave-one-out baseline, PPO-clip on sequence ratios.",
        discussion: """
            Each step samples --num-generations responses to each of --prompts-per-step prompts; \
            each response's reward is its score minus β times its sequence KL to the reference \
            (k1 sum, held constant), its advantage that reward minus the mean of the other \
            responses to the same prompt.
            """)

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var online: OnlineOptions
    @OptionGroup var rewardOptions: RewardOptions
    @OptionGroup var sampling: SamplingOptions

    @Option(help: "k, responses per prompt (num_generations).") var numGenerations: Int = 2
    @Option(help: "β of the KL in the reward.") var beta: Double = 0.05
    @Option(help: "ε of the ratio clip (cliprange).") var clip: Double = 0.2
    @Flag(help: "Whiten the advantages over the batch (normalize_advantages).") var normalizeAdvantages = false
    @Option(help: "Passes over each step's samples (num_ppo_epochs).") var epochs: Int = 4
    @Option(help: "Prompts per step.") var promptsPerStep: Int = 16
    @Option(help: "Prompts (with all their samples) per optimizer update.") var minibatchSize: Int = 8

    func validate() throws {
        guard numGenerations >= 2 else { throw ValidationError("--num-generations must be at least 2 (the leave-one-out baseline needs another sample)") }
        guard beta >= 0, beta.isFinite else { throw ValidationError("--beta must be 0 or more") }
        guard clip >= 0, clip < 1 else { throw ValidationError("--clip must be in [0, 1)") }
        guard epochs > 0, promptsPerStep > 0, minibatchSize > 0 else { throw ValidationError("--epochs, --prompts-per-step and --minibatch-size must be positive") }
        guard minibatchSize <= promptsPerStep else { throw ValidationError("--minibatch-size (\(minibatchSize)) exceeds --prompts-per-step (\(promptsPerStep))") }
        if normalizeAdvantages && numGenerations * minibatchSize < 2 { throw ValidationError("--normalize-advantages needs at least 2 samples per minibatch") }
    }

    func run() throws {
        var settings = RLOOObjective.Parameters()
        settings.samplesPerPrompt = numGenerations
        settings.beta = beta
        settings.clip = clip
        settings.normalizeAdvantages = normalizeAdvantages
        let parameters = online.parameters(sampling: sampling, promptsPerStep: promptsPerStep, epochs: epochs, groupsPerMinibatch: minibatchSize)
        try OnlineRun<RLOOObjective>(model: modelOptions.model, options: online, reward: rewardOptions, parameters: parameters).run(
            settings: settings, describe: "k \(numGenerations), β \(beta), ε \(clip)"
        ) { _ in RLOOObjective(parameters: settings) }
    }
}
