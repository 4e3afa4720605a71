import RLHFAlignment
import RLHFEvaluation
import RLHFModel
import RLHFRollouts
import RLHFTraining
import RLHFTensor

/// One RL run of an experiment: a copy of the SFT policy trained by one algorithm on one proxy
/// at one β with one seed, the SFT policy as reference, the gold reward watched at every step
/// (never optimised). Thin: the loop is ``OnlineTrainer``'s, the objectives are the CLI's.
public enum ExperimentRun {
    /// The objective of `setting.algorithm`, with β and the variant.
    static func objective(_ setting: ExperimentConfiguration.RunSetting) throws -> any PolicyObjective {
        switch setting.algorithm {
        case "p3o-v1", "p3o-v2":
            var p = P3OObjective.Parameters()
            p.variant = setting.algorithm == "p3o-v1" ? .separateClipping : .jointClipping
            p.beta = setting.beta
            return P3OObjective(parameters: p)
        case "ppo":
            var p = PPOObjective.Parameters()
            p.beta = setting.beta
            return try PPOObjective(parameters: p)
        case "online-dpo":
            var p = OnlineDPOObjective.Parameters()
            p.beta = setting.beta
            return OnlineDPOObjective(parameters: p)
        case "rloo":
            var p = RLOOObjective.Parameters()
            p.beta = setting.beta
            return RLOOObjective(parameters: p)
        case "grpo":
            var p = GRPOObjective.Parameters()
            p.beta = setting.beta
            p.samplesPerPrompt = 4
            return GRPOObjective(parameters: p)
        default:
            throw ExperimentError.invalid("unknown algorithm '\(setting.algorithm)'")
        }
    }

    /// A trainable copy of `model` (its parameters, trainable set and multiplier), with a zeroed
    /// scalar head appended when `scalarHead` (PPO's value head; the head sits last in the layout).
    static func copy(_ model: LlamaModel, scalarHead: Bool) -> LlamaModel {
        let copy = LlamaModel(configuration: model.configuration, scalarHead: scalarHead, multiplier: model.multiplier)
        precondition(copy.parameters.count >= model.parameters.count, "ExperimentRun.copy: cannot drop a scalar head")
        copy.parameters.pointer.update(from: model.parameters.pointer, count: model.parameters.count)
        if scalarHead { copy.zeroScalarHead() }
        copy.trainable = model.trainable
        copy.trainable.scalarHead = scalarHead
        return copy
    }

    /// Steps at which a run keeps a sample: the first, the quarters and the last.
    static func sampleSteps(_ steps: Int) -> Set<Int> { Set([1, steps / 4, steps / 2, 3 * steps / 4, steps].filter { $0 >= 1 }) }

    /// Trains one run and measures it. `report` gets each finished step.
    public static func run(setup: ExperimentSetup, setting: ExperimentConfiguration.RunSetting, seed: UInt64,
                           report: (StepPoint) -> Void = { _ in }) throws -> RunResult {
        let configuration = setup.configuration.reinforcement
        var objective = try objective(setting)
        let samples = objective.samplesPerPrompt
        let policyModel = copy(setup.policy.model, scalarHead: objective.usesValues)
        let reference = copy(setup.policy.model, scalarHead: false)
        let policy = PretrainedModel(model: policyModel, tokenizer: setup.policy.tokenizer, chatTemplate: setup.policy.chatTemplate)
        var parameters = OnlineTrainer.Parameters()
        parameters.steps = configuration.steps
        parameters.promptsPerStep = max(1, configuration.responsesPerStep / samples)
        parameters.epochs = configuration.epochs
        parameters.groupsPerMinibatch = max(1, configuration.responsesPerUpdate / samples)
        parameters.learningRate = configuration.learningRate
        parameters.seed = seed
        parameters.sampling = SamplingParameters(temperature: configuration.temperature, maximumNewTokens: configuration.maximumNewTokens, seed: seed)
        parameters.generationBatchSize = 64
        let optimizer = AdamW(model: policyModel, configuration: parameters.optimizer)
        var state = Checkpoint.TrainerState(step: 0, generator: SeededGenerator(seed: seed), trainable: policyModel.trainable)
        let proxy = setup.proxy(named: setting.proxy)
        var points = [StepPoint](), textSamples = [TextSample](), warnings = [String]()
        var monitor = OveroptimizationMonitor()
        let keep = sampleSteps(configuration.steps)
        var failure: Error?
        try train(policy: policy, reference: reference, proxy: proxy, objective: &objective, setup: setup, optimizer: optimizer,
                  state: &state, parameters: parameters) { event in
            guard case let .step(step) = event else { return .more }
            var values = [String: Double]()
            for metric in step.metrics { values[metric.name] = metric.value }
            let point = StepPoint(
                step: step.step, proxy: values["objective/scores"] ?? .nan, gold: values["objective/gold_scores"] ?? .nan,
                kl: values["objective/kl"] ?? .nan, klK3: values["objective/kl_k3"] ?? .nan,
                length: values["completions/mean_length"] ?? .nan, disagreement: values["ensemble/disagreement"])
            points.append(point)
            let observation = monitor.observe(step: step.step, proxy: point.proxy, disagreement: point.disagreement, gold: point.gold)
            warnings += observation.warnings.map { "step \(step.step): \($0)" }
            if keep.contains(step.step), let sample = step.sample {
                do {
                    let gold = try setup.gold.checkedScores(for: [RewardInput(prompt: sample.prompt, response: sample.response)])[0]
                    textSamples.append(TextSample(step: step.step, prompt: sample.prompt, response: sample.response, proxy: sample.reward, gold: gold))
                } catch {
                    failure = error
                    return .stop
                }
            }
            report(point)
            return .more
        }
        if let failure { throw failure }
        return summarize(setting: setting, seed: seed, points: points, samples: textSamples, warnings: warnings,
                         window: setup.configuration.reinforcement.finalWindow)
    }

    /// ``OnlineTrainer/train`` for an existential objective.
    static func train<Objective: PolicyObjective>(
        policy: PretrainedModel, reference: LlamaModel, proxy: ProxyReward, objective: inout Objective, setup: ExperimentSetup,
        optimizer: AdamW, state: inout Checkpoint.TrainerState, parameters: OnlineTrainer.Parameters,
        progress: (OnlineTrainer.Event) -> TrainingDecision
    ) throws {
        try OnlineTrainer.train(policy: policy, reference: reference, reward: proxy, objective: &objective, prompts: setup.prompts,
                                optimizer: optimizer, state: &state, parameters: parameters, gold: setup.gold, progress: progress)
    }

    /// A moving average over `window` steps ending at each step.
    static func smoothed(_ values: [Double], window: Int) -> [Double] {
        values.indices.map { i in
            let slice = values[max(0, i - window + 1)...i]
            return slice.reduce(0, +) / Double(slice.count)
        }
    }

    /// The run's end (mean of the last `window` steps) and its gold peak (on the smoothed curve).
    static func summarize(setting: ExperimentConfiguration.RunSetting, seed: UInt64, points: [StepPoint], samples: [TextSample],
                          warnings: [String], window: Int) -> RunResult {
        let tail = points.suffix(window)
        func mean(_ values: [Double]) -> Double { values.isEmpty ? .nan : values.reduce(0, +) / Double(values.count) }
        let gold = smoothed(points.map(\.gold), window: window), kl = smoothed(points.map(\.kl), window: window)
        let peak = gold.indices.max { gold[$0] < gold[$1] } ?? 0
        return RunResult(
            setting: setting, seed: seed, steps: points,
            finalProxy: mean(tail.map(\.proxy)), finalGold: mean(tail.map(\.gold)), finalKL: mean(tail.map(\.kl)),
            goldPeakStep: points.isEmpty ? 0 : points[peak].step, goldPeak: gold.isEmpty ? .nan : gold[peak],
            goldPeakKL: kl.isEmpty ? .nan : kl[peak], samples: samples, warnings: warnings)
    }
}
