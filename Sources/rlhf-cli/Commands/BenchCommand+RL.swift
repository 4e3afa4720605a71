import ArgumentParser
import Foundation
import RLHF

/// `rlhf bench --p3o --model M`: whole RL steps on a real model, by phase, at the configurations
/// of `../shared/bench/trl_bench.py` (TRL 1.16), so the two can be run back to back and compared.
extension BenchCommand {
    /// trl_bench.py's reward in words: distinct words / 10, minus 0.02 per word beyond 30.
    struct DistinctWordsReward: RewardSource {
        var name: String { "distinct-words" }
        func scores(for inputs: [RewardInput]) throws -> [Double] {
            inputs.map { input in
                let words = input.response.split(whereSeparator: \.isWhitespace).map { $0.lowercased() }
                return Double(Set(words).count) / 10 - 0.02 * Double(max(0, words.count - 30))
            }
        }
    }

    static let benchPrompts = [
        "Describe a sunrise in two sentences.", "Give three tips for learning to cook.", "What makes a good friend?",
        "Explain why the sky is blue.", "Write a short note thanking a teacher.", "How do plants drink water?",
        "Suggest a name for a bakery and say why.", "What should I pack for a day hike?", "Explain what a budget is.",
        "Describe the sound of rain.", "Give advice for a first job interview.", "Why do cats purr?",
        "Write a two-line poem about the sea.", "How can I sleep better?", "What is a good way to start running?",
        "Explain recycling to a child.", "Describe your favourite season.", "How do I make a paper airplane?",
        "What are the benefits of reading?", "Write a short weather report for a sunny day.", "Why do we need bees?",
        "Suggest a weekend activity for a family.", "How does a bicycle stay upright?", "Describe a busy market.",
        "Give two reasons to learn a new language.", "What is the water cycle?", "Write a friendly greeting for a new neighbour.",
        "How can I keep my desk tidy?", "Explain what a volcano is.", "What makes a story exciting?",
        "Describe a quiet library.", "Give a tip for saving energy at home.",
    ]

    /// One configuration of the RL table.
    struct RLConfiguration {
        /// Short name for --rl-configs.
        var name: String
        var label: String
        var trainableBlocks: Int
        var promptsPerStep: Int
        var epochs: Int
        var groupsPerMinibatch: Int
        var makeAndRun: (_ policy: PretrainedModel, _ reference: LlamaModel, _ prompts: [RolloutGenerator.Prompt],
                         _ parameters: OnlineTrainer.Parameters) throws -> OnlineTrainer.StepReport
    }

    func rlTable() throws {
        guard let modelPath = model else { throw ValidationError("--p3o needs --model: SmolLM2-135M-Instruct (scripts/fetch-smollm2.sh prints its path)") }
        let newTokens = 48
        func run<O: PolicyObjective>(_ objective: O) -> (PretrainedModel, LlamaModel, [RolloutGenerator.Prompt], OnlineTrainer.Parameters) throws -> OnlineTrainer.StepReport {
            { policy, reference, prompts, parameters in
                var objective = objective
                let optimizer = AdamW(model: policy.model, configuration: parameters.optimizer)
                var state = Checkpoint.TrainerState(step: 0, generator: SeededGenerator(seed: 0), trainable: policy.model.trainable)
                var last: OnlineTrainer.StepReport?
                try OnlineTrainer.train(policy: policy, reference: reference, reward: DistinctWordsReward(), objective: &objective,
                                        prompts: prompts, optimizer: optimizer, state: &state, parameters: parameters) { event in
                    if case let .step(report) = event {
                        last = report
                        print("    step \(report.step): \(String(format: "%.2f", report.metrics.value(named: "time/step") ?? 0)) s")
                    }
                    return .more
                }
                return last!
            }
        }
        var p3o = P3OObjective.Parameters()
        p3o.beta = 0.05
        var grpo = GRPOObjective.Parameters()
        grpo.samplesPerPrompt = 4
        grpo.beta = 0.04
        var rloo = RLOOObjective.Parameters()
        rloo.beta = 0.04
        let configurations = [
            RLConfiguration(name: "p3o-64", label: "p3o: 64 pairs, top 2 blocks, 4 epochs × 8 minibatches of 8 pairs", trainableBlocks: 2,
                            promptsPerStep: 64, epochs: 4, groupsPerMinibatch: 8, makeAndRun: run(P3OObjective(parameters: p3o))),
            RLConfiguration(name: "p3o-8", label: "p3o: 8 pairs, top 2 blocks, 1 update (≈ TRL rloo's work)", trainableBlocks: 2,
                            promptsPerStep: 8, epochs: 1, groupsPerMinibatch: 8, makeAndRun: run(P3OObjective(parameters: p3o))),
            RLConfiguration(name: "rloo", label: "rloo: 8 prompts × 2, all parameters, 1 update (TRL rloo)", trainableBlocks: 0,
                            promptsPerStep: 8, epochs: 1, groupsPerMinibatch: 8, makeAndRun: run(RLOOObjective(parameters: rloo))),
            RLConfiguration(name: "grpo-top2", label: "grpo: 8 prompts × 4, top 2 blocks, 1 update (TRL grpo_top2)", trainableBlocks: 2,
                            promptsPerStep: 8, epochs: 1, groupsPerMinibatch: 8, makeAndRun: run(GRPOObjective(parameters: grpo))),
            RLConfiguration(name: "grpo", label: "grpo: 8 prompts × 4, all parameters, 1 update (TRL grpo)", trainableBlocks: 0,
                            promptsPerStep: 8, epochs: 1, groupsPerMinibatch: 8, makeAndRun: run(GRPOObjective(parameters: grpo))),
        ]
        print("RL steps on \(modelPath), \(newTokens) new tokens, temperature 1, top-p 1, reward: distinct words / 10 − 0.02 per word beyond 30")
        print("(trl_bench.py's configurations; step 1 warms up, step 2 is reported)")
        let phases = ["sampling", "trunk", "old_logprobs", "reference_logprobs", "reward", "training_epoch_1", "training_epoch_2",
                      "training_epoch_3", "training_epoch_4", "training", "step"]
        let unknown = rlConfigs.filter { name in name != "dpo" && !configurations.contains { $0.name == name } }
        guard unknown.isEmpty else { throw ValidationError("unknown --rl-configs \(unknown.joined(separator: ", ")); known: \(configurations.map(\.name).joined(separator: ", ")), dpo") }
        for configuration in configurations where rlConfigs.isEmpty || rlConfigs.contains(configuration.name) {
            print("  " + configuration.label)
            let policy = try ModelOptions.load(path: modelPath)
            let blocks = policy.model.configuration.blockCount
            policy.model.trainable = configuration.trainableBlocks == 0 ? .all : .topBlocks(configuration.trainableBlocks, of: blocks)
            let reference = try ModelOptions.load(path: modelPath).model
            let prompts = try PromptLoading.encode(Self.benchPrompts.map { PromptRecord(prompt: .text($0)) }, file: "<bench>",
                                                   model: policy, chat: true)
            var parameters = OnlineTrainer.Parameters()
            parameters.steps = 2
            parameters.promptsPerStep = configuration.promptsPerStep
            parameters.epochs = configuration.epochs
            parameters.groupsPerMinibatch = configuration.groupsPerMinibatch
            parameters.learningRate = 1e-6
            parameters.sampling = SamplingParameters(temperature: 1, topK: 0, topP: 1, maximumNewTokens: newTokens, seed: 0)
            parameters.generationBatchSize = 64
            parameters.samplingWeights = samplingWeights
            let report = try configuration.makeAndRun(policy, reference, prompts, parameters)
            let m = report.metrics
            // `episode` counts responses so far: per step, episode / step.
            let responses = (m.value(named: "episode") ?? 0) / Double(report.step)
            let completions = (m.value(named: "completions/mean_length") ?? 0) * responses
            let line = phases.compactMap { name in m.value(named: "time/" + name).map { "\(name) \(String(format: "%.2f", $0))" } }
            print("    phases (s): " + line.joined(separator: ", "))
            var extra = [String: Double]()
            for name in phases { if let value = m.value(named: "time/" + name) { extra["phase_" + name] = value } }
            extra["completion_tokens"] = completions
            record("rl", configuration.name, seconds: m.value(named: "time/step") ?? 0,
                   tokensPerSecond: completions / (m.value(named: "time/step") ?? 1), extra: extra)
            reportPeakMemory(after: configuration.name)
            print("    completion tokens \(Int(completions)) → \(String(format: "%.1f", completions / (m.value(named: "time/step") ?? 1))) per second of the whole step, \(String(format: "%.1f", completions / (m.value(named: "time/sampling") ?? 1))) per second of sampling")
        }
        if rlConfigs.isEmpty || rlConfigs.contains("dpo") { try dpoStep(modelPath: modelPath) }
        print("")
    }

    /// trl_bench.py's `dpo`: 4 pairs per step, each prompt + completion 128 tokens (a 37-token
    /// prompt, as SmolLM2's chat template makes of a short instruction), every parameter trains,
    /// β 0.1, sigmoid loss. The reference's log-probs are computed once for all pairs before
    /// training (TRL recomputes them every step), so both are reported.
    func dpoStep(modelPath: String) throws {
        let policy = try ModelOptions.load(path: modelPath)
        policy.model.trainable = .all
        let reference = try ModelOptions.load(path: modelPath).model
        var generator = SeededGenerator(seed: 4)
        func tokens(_ count: Int) -> [Int] { (0..<count).map { _ in Int(generator.next() % 49_000) } }
        let steps = 5, pairsPerStep = 4
        let pairs = (0..<(steps * pairsPerStep)).map { _ in TokenizedPair(prompt: tokens(37), chosen: tokens(91), rejected: tokens(91)) }
        var parameters = DirectPreferenceTrainer.Parameters()
        parameters.training = EpochTraining(batchSize: pairsPerStep, learningRate: 1e-6)
        let clock = ContinuousClock(), start = clock.now
        let prepared = try DirectPreferenceTrainer.prepare(pairs, policy: policy.model, reference: reference, paddingToken: 0, batchSize: pairsPerStep)
        let prepare = (clock.now - start).seconds
        var state = DirectPreferenceTrainer.initialState(for: policy.model, parameters: parameters)
        var times = [Double](), last = clock.now
        try DirectPreferenceTrainer.train(
            model: policy.model, optimizer: AdamW(model: policy.model, configuration: parameters.training.optimizer), state: &state,
            training: prepared, heldOut: nil, parameters: parameters
        ) { event in
            if case .step = event { times.append((clock.now - last).seconds); last = clock.now }
            return .more
        }
        let timed = times.dropFirst().sorted()
        let median = timed.isEmpty ? 0 : timed[timed.count / 2]
        let referenceShare = prepare * Double(pairsPerStep) / Double(pairs.count)
        record("rl", "dpo", seconds: median + referenceShare, tokensPerSecond: Double(pairsPerStep * 256) / (median + referenceShare),
               extra: ["step_without_reference": median, "reference_share": referenceShare])
        print("  dpo: 4 pairs × 128 tokens per step, all parameters (TRL dpo)")
        print("    reference log-probs of all \(pairs.count) pairs, once: \(String(format: "%.2f", prepare)) s (\(String(format: "%.2f", prepare * Double(pairsPerStep) / Double(pairs.count))) s per step's pairs)")
        print("    step (policy forward + backward + AdamW), median of steps 2–\(steps): \(String(format: "%.2f", median)) s; with the reference's share: \(String(format: "%.2f", median + prepare * Double(pairsPerStep) / Double(pairs.count))) s")
        reportPeakMemory(after: "dpo")
    }
}
