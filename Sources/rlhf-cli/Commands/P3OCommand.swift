import ArgumentParser
import RLHF

/// `rlhf p3o`: Pairwise Proximal Policy Optimization, RL from relative feedback.
struct P3OCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "p3o",
        abstract: "P3O: pairwise proximal policy optimization (RL with relative feedback).",
        discussion: """
            Each step samples two responses to each of --pairs-per-step prompts from the current \
            policy, scores them with --reward, and updates the policy --epochs times over the pairs \
            in minibatches of --minibatch-size pairs, driven only by the KL-penalised reward \
            difference Δ = (r₁ − r₂) − β·(S₁ − S₂), S the sequence log-ratio to the reference. \
            A per-prompt shift of the reward changes nothing. --variant joint (V2, default) clips \
            the pair's log-ratio to its old value ± --clip and weighs by the clipped joint ratio; \
            separate (V1) clips each response's ratio like PPO, weighted by the other's.
            """)

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var online: OnlineOptions
    @OptionGroup var rewardOptions: RewardOptions
    @OptionGroup var sampling: SamplingOptions

    @Option(help: "joint (P3O-V2: one clip on the pair) or separate (P3O-V1: a PPO clip per response).")
    var variant: String = "joint"

    @Option(help: "β, the KL coefficient of Δ (kl_coef).")
    var beta: Double = 0.05

    @Option(help: "ε of the update clip (cliprange).")
    var clip: Double = 0.2

    @Option(help: "c of the importance-weight clip [1/c, c] (cliprange_ratio).")
    var weightClip: Double = 10

    @Option(help: "Passes over each step's pairs (p3o_epochs).")
    var epochs: Int = 4

    @Option(help: "Prompts per step, two responses each (num_rollouts).")
    var pairsPerStep: Int = 16

    @Option(help: "Pairs per optimizer update (batch_size).")
    var minibatchSize: Int = 8

    @Option(help: "S in Δ from the current parameters at each minibatch (current, the authors' code) or from the rollout-time policy (old).")
    var klFrom: String = "current"

    @Flag(help: "Divide the summed pair losses by the response tokens of the minibatch (the Nov-2023 trainer's avg_tokenwise) instead of the pair mean.")
    var tokenNormalized = false

    var objectiveParameters: P3OObjective.Parameters {
        var p = P3OObjective.Parameters()
        p.variant = variant == "separate" ? .separateClipping : .jointClipping
        p.beta = beta
        p.clip = clip
        p.weightClip = weightClip
        p.klFromCurrentPolicy = klFrom == "current"
        p.tokenNormalized = tokenNormalized
        return p
    }

    func validate() throws {
        guard ["joint", "separate"].contains(variant) else { throw ValidationError("--variant must be joint or separate (got '\(variant)')") }
        guard ["current", "old"].contains(klFrom) else { throw ValidationError("--kl-from must be current or old (got '\(klFrom)')") }
        guard beta >= 0, beta.isFinite else { throw ValidationError("--beta must be 0 or more") }
        guard clip >= 0, variant == "joint" || clip < 1 else { throw ValidationError("--clip must be in [0, 1) for the separate variant, ≥ 0 for joint") }
        guard weightClip >= 1 else { throw ValidationError("--weight-clip must be at least 1") }
        guard epochs > 0 else { throw ValidationError("--epochs must be positive") }
        guard pairsPerStep > 0, minibatchSize > 0 else { throw ValidationError("--pairs-per-step and --minibatch-size must be positive") }
        guard minibatchSize <= pairsPerStep else { throw ValidationError("--minibatch-size (\(minibatchSize)) exceeds --pairs-per-step (\(pairsPerStep))") }
    }

    func run() throws {
        let parameters = online.parameters(sampling: sampling, promptsPerStep: pairsPerStep, epochs: epochs, groupsPerMinibatch: minibatchSize)
        let settings = objectiveParameters
        try OnlineRun<P3OObjective>(model: modelOptions.model, options: online, reward: rewardOptions, parameters: parameters).run(
            settings: settings,
            describe: "\(variant == "joint" ? "V2 (joint clipping)" : "V1 (separate clipping)"), β \(beta), ε \(clip), c \(weightClip), S from the \(klFrom) policy"
        ) { _ in P3OObjective(parameters: settings) }
    }
}
