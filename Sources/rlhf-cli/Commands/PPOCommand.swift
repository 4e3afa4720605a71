import ArgumentParser
import RLHF

/// `rlhf ppo`: PPO with a value head on the policy's trunk (TRL's experimental `PPOTrainer`).
struct PPOCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ppo",
        abstract: "PPO: per-token KL-shaped rewards, a value head, GAE, clipped policy and value losses.",
        discussion: """
            Each step samples one response to each of --prompts-per-step prompts. Every response \
            token is rewarded −β·KL_t toward the reference (--kl-estimator k1 or k3), the score \
            comes at its last token; a value head (score.weight on the policy's final hidden \
            state, trained with the top blocks) gives V, GAE (--gamma, --lam) the advantages, \
            which are whitened over the step. --kl-target makes β adaptive (Ziegler et al.). \
            The value head is saved beside the policy as value_head.safetensors.
            """)

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var online: OnlineOptions
    @OptionGroup var rewardOptions: RewardOptions
    @OptionGroup var sampling: SamplingOptions

    @Option(help: "β of the per-token KL penalty (kl_coef); the initial value when --kl-target is set.") var beta: Double = 0.05
    @Option(help: "Target KL (nats per sequence) of the adaptive controller; omit for a fixed β.") var klTarget: Double?
    @Option(help: "Horizon (samples) of the adaptive controller.") var klHorizon: Double = 10_000
    @Option(help: "Per-token KL estimator in the reward: k1 or k3.") var klEstimator: String = "k1"
    @Option(help: "Discount γ.") var gamma: Double = 1
    @Option(help: "GAE λ (lam).") var lam: Double = 0.95
    @Option(help: "ε of the policy clip (cliprange).") var clip: Double = 0.2
    @Option(help: "Range of the value clip (cliprange_value).") var vfClip: Double = 0.2
    @Option(help: "Value loss coefficient (vf_coef).") var vfCoef: Double = 0.1
    @Option(help: "Subtract this from the score of a response that ends without a stop token (missing_eos_penalty).") var missingEosPenalty: Double?
    @Flag(help: "Scale the per-token rewards by their std over the step (whiten_rewards; mean kept).") var whitenRewards = false
    @Option(help: "Passes over each step's samples (num_ppo_epochs).") var epochs: Int = 4
    @Option(help: "Prompts per step.") var promptsPerStep: Int = 16
    @Option(help: "Responses per optimizer update.") var minibatchSize: Int = 8

    func validate() throws {
        guard beta >= 0, beta.isFinite else { throw ValidationError("--beta must be 0 or more") }
        if let klTarget, !(klTarget > 0 && klTarget.isFinite) { throw ValidationError("--kl-target must be positive") }
        guard klHorizon >= Double(promptsPerStep) else {
            throw ValidationError("--kl-horizon (\(klHorizon)) must be at least the samples per update (--prompts-per-step \(promptsPerStep)), or β could turn negative")
        }
        guard KLEstimator(rawValue: klEstimator) != nil, klEstimator != "k2" else { throw ValidationError("--kl-estimator must be k1 or k3") }
        guard (0...1).contains(gamma), (0...1).contains(lam) else { throw ValidationError("--gamma and --lam must be in [0, 1]") }
        guard clip >= 0, clip < 1 else { throw ValidationError("--clip must be in [0, 1)") }
        guard vfClip >= 0, vfCoef >= 0 else { throw ValidationError("--vf-clip and --vf-coef must be 0 or more") }
        if let missingEosPenalty, !missingEosPenalty.isFinite { throw ValidationError("--missing-eos-penalty must be finite") }
        guard epochs > 0, promptsPerStep > 0, minibatchSize > 0 else { throw ValidationError("--epochs, --prompts-per-step and --minibatch-size must be positive") }
        guard minibatchSize <= promptsPerStep else { throw ValidationError("--minibatch-size (\(minibatchSize)) exceeds --prompts-per-step (\(promptsPerStep))") }
    }

    func run() throws {
        var settings = PPOObjective.Parameters()
        settings.beta = beta
        settings.klTarget = klTarget
        settings.klHorizon = klHorizon
        settings.klEstimator = KLEstimator(rawValue: klEstimator)!
        settings.gamma = gamma
        settings.lambda = lam
        settings.clip = clip
        settings.valueClip = vfClip
        settings.valueCoefficient = vfCoef
        settings.missingEOSPenalty = missingEosPenalty
        settings.whitenRewards = whitenRewards
        let parameters = online.parameters(sampling: sampling, promptsPerStep: promptsPerStep, epochs: epochs, groupsPerMinibatch: minibatchSize)
        try OnlineRun<PPOObjective>(model: modelOptions.model, options: online, reward: rewardOptions, parameters: parameters).run(
            settings: settings, scalarHead: true,
            describe: "β \(beta)\(klTarget.map { " adaptive (target \($0), horizon \(klHorizon))" } ?? " fixed") \(klEstimator), γ \(gamma), λ \(lam), ε \(clip), value clip \(vfClip), c_v \(vfCoef)"
        ) { _ in try PPOObjective(parameters: settings) }
    }
}
