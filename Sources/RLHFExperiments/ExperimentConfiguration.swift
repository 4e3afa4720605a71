/// Everything an overoptimization experiment is set up with (`rlhf experiment CONFIG`; `rlhf demo`
/// is ``demo``). Stage 1 — SFT policy, preference pairs labelled by the gold reward with label
/// noise, proxy reward models, their normalisation — runs once from ``seed``; then every run of
/// ``runs`` (algorithm × proxy × β) is trained once per RL seed, and a best-of-n curve is
/// measured on a fixed pool of SFT samples (alignment-losses.md §6–8, §10).
///
/// A configuration file gives only what differs from these defaults (keys in snake_case, as in
/// the JSON written beside the results); an unknown key is an error.
public struct ExperimentConfiguration: Sendable, Codable, Equatable {
    /// The policy and its SFT stage.
    public struct Policy: Sendable, Codable, Equatable {
        /// A GGUF file or Hugging Face directory to start from; nil: a new byte-level Llama.
        public var model: String?
        /// Blocks trained (SFT and RL) when starting from ``model`` (0: all).
        public var trainableBlocks = 2
        /// Shape of the new model (without ``model``): hidden size, FFN size, blocks, heads, KV heads.
        public var hiddenSize = 64
        public var intermediateSize = 176
        public var blocks = 2
        public var heads = 4
        public var keyValueHeads = 2
        /// SFT corpus: reviews drawn from the synthetic language.
        public var sftExamples = 4000
        public var sftEpochs = 3
        public var sftBatchSize = 32
        public var sftLearningRate: Float = 4e-3

        public init() {}
    }

    /// The comparisons the proxies learn from.
    public struct Preferences: Sendable, Codable, Equatable {
        /// Pairs of SFT samples (two responses to one prompt), labelled by the gold reward.
        public var comparisons = 2000
        /// Share of labels flipped at random (Coste et al.'s 25%).
        public var labelNoise = 0.25
        /// Share of pairs held out to measure the proxies' accuracy.
        public var heldOutFraction = 0.1

        public init() {}
    }

    /// The proxy reward models.
    public struct Proxy: Sendable, Codable, Equatable {
        /// Ensemble members (member 0 is the single proxy).
        public var members = 4
        public var training = BagOfWordsProxy.Parameters()
        /// λ of UWO (mean − λ·variance of the normalised members).
        public var uncertaintyWeight = 0.5
        /// SFT samples that fix each member's normalisation and the gold's recentring.
        public var normalizationSamples = 512

        public init() {}
    }

    /// The RL runs' shared settings.
    public struct Reinforcement: Sendable, Codable, Equatable {
        public var steps = 40
        /// Responses per step (prompts × samples: pairs for P3O and online DPO, prompts for PPO).
        public var responsesPerStep = 64
        /// Inner epochs over each step's rollouts, and responses per optimizer update.
        public var epochs = 1
        public var responsesPerUpdate = 32
        public var learningRate: Float = 5e-4
        public var maximumNewTokens = 96
        public var temperature: Float = 1
        /// The end of a run is the mean of its last this many steps.
        public var finalWindow = 5

        public init() {}
    }

    /// A group of runs: every algorithm × proxy × β listed.
    public struct RunGroup: Sendable, Codable, Equatable {
        /// `p3o-v1`, `p3o-v2`, `ppo`, `online-dpo`, `rloo`, `grpo`.
        public var algorithms: [String]
        /// `single`, `mean`, `wco`, `uwo`.
        public var proxies: [String]
        public var betas: [Double]

        public init(algorithms: [String], proxies: [String], betas: [Double]) {
            self.algorithms = algorithms
            self.proxies = proxies
            self.betas = betas
        }
    }

    /// The best-of-n curve from the SFT policy (Nakano et al.'s unbiased estimator).
    public struct BestOfNCurve: Sendable, Codable, Equatable {
        /// Prompts of the pool (products of the language, cycled) and samples per prompt (N).
        public var prompts = 12
        public var samplesPerPrompt = 128
        /// n = 1, 2, 4, … up to this (≤ samplesPerPrompt).
        public var maximumN = 64

        public init() {}
    }

    /// Seed of stage 1 (corpus, SFT, pairs, label noise, proxies, pools).
    public var seed: UInt64 = 0
    /// RL seeds: each run is trained with seeds `seed + 1 … seed + rlSeeds`.
    public var rlSeeds = 3
    /// `synthetic` (the review language's programmatic gold) or any reward source (`model:DIR`, …).
    public var gold = "synthetic"
    public var policy = Policy()
    public var preferences = Preferences()
    public var proxy = Proxy()
    public var reinforcement = Reinforcement()
    public var runs: [RunGroup] = ExperimentConfiguration.demoRuns
    public var bestOfN = BestOfNCurve()

    public init() {}

    /// The fixed configuration of `rlhf demo`: P3O V2 on every proxy at a small and a moderate β
    /// (overoptimization and its mitigation), and P3O V1, PPO and online DPO on the single proxy
    /// at the same β values (the KL–gold frontiers).
    public static var demo: ExperimentConfiguration { ExperimentConfiguration() }

    public static let demoRuns = [
        RunGroup(algorithms: ["p3o-v2"], proxies: ["single", "mean", "wco", "uwo"], betas: [0.05, 0.2]),
        RunGroup(algorithms: ["p3o-v1", "ppo", "online-dpo"], proxies: ["single"], betas: [0.05, 0.2]),
    ]

    /// One run setting (an entry of the table).
    public struct RunSetting: Sendable, Codable, Equatable, Hashable {
        public var algorithm: String
        public var proxy: String
        public var beta: Double

        public init(algorithm: String, proxy: String, beta: Double) {
            self.algorithm = algorithm
            self.proxy = proxy
            self.beta = beta
        }

        /// `p3o-v2 / wco / β=0.05`.
        public var label: String { "\(algorithm) / \(proxy) / β=\(ExperimentConfiguration.format(beta))" }
    }

    public static let algorithms = ["p3o-v1", "p3o-v2", "ppo", "online-dpo", "rloo", "grpo"]
    public static let proxies = ["single", "mean", "wco", "uwo"]

    /// Every distinct setting of ``runs``, in order.
    public var settings: [RunSetting] {
        var seen = Set<RunSetting>(), result = [RunSetting]()
        for group in runs {
            for algorithm in group.algorithms {
                for proxy in group.proxies {
                    for beta in group.betas {
                        let setting = RunSetting(algorithm: algorithm, proxy: proxy, beta: beta)
                        if seen.insert(setting).inserted { result.append(setting) }
                    }
                }
            }
        }
        return result
    }

    /// What is wrong with the configuration, one line each (empty when it can run).
    public var problems: [String] {
        var problems = [String]()
        func require(_ condition: Bool, _ message: String) { if !condition { problems.append(message) } }
        require(rlSeeds >= 1, "rl_seeds must be at least 1")
        require(policy.sftExamples >= 1 && policy.sftEpochs >= 1 && policy.sftBatchSize >= 1, "policy: sft_examples, sft_epochs and sft_batch_size must be positive")
        require(policy.model != nil || (policy.hiddenSize > 0 && policy.blocks > 0 && policy.heads > 0 && policy.keyValueHeads > 0
                    && policy.hiddenSize % policy.heads == 0 && policy.heads % policy.keyValueHeads == 0),
                "policy: hidden_size must divide into heads, and heads into key_value_heads")
        require(preferences.comparisons >= 10, "preferences.comparisons must be at least 10")
        require((0...0.5).contains(preferences.labelNoise), "preferences.label_noise must be in [0, 0.5]")
        require(preferences.heldOutFraction > 0 && preferences.heldOutFraction < 1, "preferences.held_out_fraction must be in (0, 1)")
        require(proxy.members >= 2, "proxy.members must be at least 2 (an ensemble)")
        require(proxy.training.hidden >= 1 && proxy.training.epochs >= 1 && proxy.training.batchSize >= 1, "proxy.training: hidden, epochs and batch_size must be positive")
        require(proxy.normalizationSamples >= 2, "proxy.normalization_samples must be at least 2")
        require(reinforcement.steps >= 1, "reinforcement.steps must be at least 1")
        require(reinforcement.responsesPerStep >= 4 && reinforcement.responsesPerStep % 2 == 0, "reinforcement.responses_per_step must be even and at least 4")
        require(reinforcement.responsesPerUpdate >= 2 && reinforcement.responsesPerUpdate % 2 == 0, "reinforcement.responses_per_update must be even and at least 2")
        require(reinforcement.epochs >= 1, "reinforcement.epochs must be at least 1")
        require(reinforcement.maximumNewTokens >= 1, "reinforcement.maximum_new_tokens must be at least 1")
        require(reinforcement.finalWindow >= 1 && reinforcement.finalWindow <= reinforcement.steps, "reinforcement.final_window must be in 1…steps")
        require(bestOfN.prompts >= 1 && bestOfN.samplesPerPrompt >= 2, "best_of_n: prompts ≥ 1 and samples_per_prompt ≥ 2")
        require(bestOfN.maximumN >= 2 && bestOfN.maximumN <= bestOfN.samplesPerPrompt, "best_of_n.maximum_n must be in 2…samples_per_prompt")
        require(!settings.isEmpty, "runs: no run (each group needs algorithms, proxies and betas)")
        for setting in settings {
            require(Self.algorithms.contains(setting.algorithm), "runs: unknown algorithm '\(setting.algorithm)' (known: \(Self.algorithms.joined(separator: ", ")))")
            require(Self.proxies.contains(setting.proxy), "runs: unknown proxy '\(setting.proxy)' (known: \(Self.proxies.joined(separator: ", ")))")
            require(setting.beta >= 0 && setting.beta.isFinite, "runs: β must be finite and ≥ 0 (got \(setting.beta))")
        }
        return problems
    }

    /// β as written in labels: `0.05`, `0.2`, `0`.
    static func format(_ value: Double) -> String {
        var text = String(value)
        if text.hasSuffix(".0") { text.removeLast(2) }
        return text
    }
}

extension ExperimentConfiguration {
    /// `rlhf demo --model PATH`: the demo's story on a pretrained model, its top blocks trainable,
    /// sized for a machine with more time (fewer seeds' worth of runs per minute).
    public static func realModelDemo(model: String, trainableBlocks: Int) -> ExperimentConfiguration {
        var configuration = ExperimentConfiguration.demo
        configuration.policy.model = model
        configuration.policy.trainableBlocks = trainableBlocks
        configuration.policy.sftExamples = 800
        configuration.policy.sftEpochs = 1
        configuration.policy.sftBatchSize = 8
        configuration.policy.sftLearningRate = 1e-3
        configuration.preferences.comparisons = 600
        configuration.proxy.normalizationSamples = 128
        configuration.reinforcement.steps = 30
        configuration.reinforcement.responsesPerStep = 32
        configuration.reinforcement.responsesPerUpdate = 32
        configuration.reinforcement.learningRate = 1e-4
        configuration.reinforcement.maximumNewTokens = 48
        configuration.bestOfN.prompts = 12
        configuration.bestOfN.samplesPerPrompt = 32
        configuration.bestOfN.maximumN = 16
        return configuration
    }
}
