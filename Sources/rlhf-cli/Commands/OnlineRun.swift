import ArgumentParser
import Foundation
import RLHF

/// What `rlhf p3o`, `ppo`, `rloo`, `grpo` and online `dpo` share once their objective is built:
/// loading the policy, reference, prompts and reward, resuming, progress with ETA, metrics JSONL,
/// checkpoints, and the final Hugging Face directory.
struct OnlineRun<Objective: PolicyObjective> {
    /// Everything a run is configured with, recorded in the checkpoint's `parameters.json`.
    struct Record<Settings: Codable & Sendable & Equatable>: Codable, Sendable, Equatable {
        var algorithm: String
        var trainer: OnlineTrainer.Parameters
        var objective: Settings
        var reward: [String]
        var trainableBlocks: Int
    }

    let model: String
    let options: OnlineOptions
    let reward: RewardOptions
    let parameters: OnlineTrainer.Parameters

    /// Loads everything, trains, saves. `makeObjective` gets the starting policy (e.g. for a value head).
    func run<Settings: Codable & Sendable & Equatable>(
        settings: Settings, scalarHead: Bool = false, describe: String, makeObjective: (PretrainedModel) throws -> Objective
    ) throws {
        let start = try ModelOptions.load(path: model, scalarHead: scalarHead)
        guard start.tokenizer != nil else { throw ValidationError("\(model) has no tokenizer") }
        let blocks = start.model.configuration.blockCount
        let record = Record(algorithm: "", trainer: parameters, objective: settings, reward: reward.reward, trainableBlocks: options.trainableBlocks)
        let output = options.output
        let hasCheckpoint = Checkpoint.resolve(output) != nil
        if hasCheckpoint && !options.resume {
            throw ValidationError("\(output) already holds a checkpoint: pass --resume to continue it, or choose another --output")
        }
        if options.resume && !hasCheckpoint { throw ValidationError("--resume: no checkpoint in \(output)") }

        var policy = start
        var optimizer: AdamW, state: Checkpoint.TrainerState
        if options.resume {
            let restored = try Checkpoint.load(from: output, optimizer: parameters.optimizer)
            policy = PretrainedModel(model: restored.model, tokenizer: start.tokenizer, chatTemplate: start.chatTemplate,
                                     chatTemplateSource: start.chatTemplateSource)
            (optimizer, state) = (restored.optimizer, restored.state)
            Terminal.error("resuming \(output) after step \(OnlineTrainer.completedSteps(state)) of \(parameters.steps)\n")
            let differences = try Checkpoint.differences(from: output, to: record)
            if !differences.isEmpty {
                Terminal.error("settings changed since the checkpoint (this command's values are used):\n" + differences.map { "  \($0)\n" }.joined())
            }
        } else {
            policy.model.trainable = options.trainableBlocks == 0 ? .all : .topBlocks(options.trainableBlocks, of: blocks)
            if scalarHead { policy.model.zeroScalarHead() }
            optimizer = AdamW(model: policy.model, configuration: parameters.optimizer)
            state = Checkpoint.TrainerState(step: 0, generator: SeededGenerator(seed: parameters.seed), trainable: policy.model.trainable)
        }
        let referencePath = options.reference ?? model
        let reference = try ModelOptions.load(path: referencePath).model
        guard reference.configuration.vocabularySize == policy.model.configuration.vocabularySize else {
            throw ValidationError("--reference \(referencePath) has a vocabulary of \(reference.configuration.vocabularySize), the policy \(policy.model.configuration.vocabularySize)")
        }
        let prompts = try PromptLoading.load(path: options.prompts ?? options.data!, model: start, chat: !options.noChat,
                                             maxPromptTokens: options.maxPromptTokens)
        guard !prompts.isEmpty else { throw ValidationError("\(options.prompts ?? options.data!): no prompts") }
        let rewardSource = try reward.make(policy: start)
        let goldSource = try options.gold.map { try RewardSources.make(specifications: [$0], weights: nil, policy: start) }
        var objective = try makeObjective(policy)

        let frozen = options.trainableBlocks == 0 ? 0 : max(0, blocks - options.trainableBlocks)
        Terminal.error("""
            \(objective.name): \(describe)
            policy: \(model): \(blocks) blocks, training \(options.trainableBlocks == 0 ? "every block" : "the top \(min(options.trainableBlocks, blocks)) (blocks 0..<\(frozen) run once per rollout)"); reference: \(referencePath); GEMM: \(policy.model.multiplier.name)
            prompts: \(prompts.count) from \(options.prompts ?? options.data!); \(parameters.promptsPerStep) per step × \(objective.samplesPerPrompt) samples, \(parameters.epochs) epoch(s) × \(parameters.updatesPerStep / max(1, parameters.epochs)) minibatch(es) per step
            reward: \(rewardSource.name)\(goldSource.map { "; gold (watched): \($0.name)" } ?? "")

            """)

        let metricsFile = try options.metrics.map { try MetricsWriter(path: $0) }
        var printer = ProgressPrinter(plainEvery: 1)
        var stepTimes = [Double]()
        var monitor = OveroptimizationMonitor()
        var saveError: Error?
        try OnlineTrainer.train(
            policy: policy, reference: reference, reward: rewardSource, objective: &objective, prompts: prompts,
            optimizer: optimizer, state: &state, parameters: parameters, gold: goldSource,
            checkpoint: { state in
                try Checkpoint.save(model: policy.model, optimizer: optimizer, state: state, parameters: record, to: output, pretrained: policy)
                return output
            }
        ) { event in
            switch event {
            case let .phase(step, name):
                if Terminal.isInteractive { printer.step(step - 1, of: parameters.steps, "\(name)…") }
            case let .step(report):
                var values = [String: Double]()
                for metric in report.metrics { values[metric.name] = metric.value }
                let observation = monitor.observe(step: report.step, proxy: values["objective/scores"] ?? 0,
                                                  disagreement: values["ensemble/disagreement"], gold: values["objective/gold_scores"])
                for metric in observation.diagnostics { values[metric.name] = metric.value }
                for warning in observation.warnings { printer.line("step \(report.step): warning: \(warning)") }
                if observation.isGoldPeak {
                    do { try Self.saveGoldPeak(policy, step: report.step, values: values, to: output + "-gold-peak") } catch {
                        saveError = error
                        return .stop
                    }
                }
                metricsFile?.write(event: "step", ["step": report.step], extra: values)
                stepTimes.append(values["time/step"] ?? 0)
                let remaining = Double(report.totalSteps - report.step) * stepTimes.reduce(0, +) / Double(stepTimes.count)
                printer.step(report.step, of: report.totalSteps, Self.summary(values) + String(format: " %.1f s/step", stepTimes.last ?? 0)
                             + " ETA " + Terminal.duration(remaining))
            case let .checkpoint(step, path):
                metricsFile?.write(event: "checkpoint", ["step": String(step), "path": path])
            case let .skippedUpdate(step, reason):
                printer.line("step \(step): skipped an update: \(reason)")
            }
            return .more
        }
        if let saveError { throw saveError }
        Terminal.error("\nsaved the policy to \(output) (a Hugging Face model directory)\n")
        if let peak = monitor.goldPeak {
            Terminal.error("gold peak \(String(format: "%.4f", peak.gold)) at step \(peak.step): \(output)-gold-peak\n")
        }
    }

    /// The policy at a new gold peak, as a Hugging Face directory with `gold_peak.json` (step and
    /// that step's metrics), written beside and swapped in so a kill leaves the previous peak whole.
    static func saveGoldPeak(_ policy: PretrainedModel, step: Int, values: [String: Double], to directory: String) throws {
        let staging = directory + ".partial", previous = directory + ".previous"
        let files = FileManager.default
        try? files.removeItem(atPath: staging)
        try policy.save(directory: staging)
        var record: [String: Any] = ["step": step]
        for (key, value) in values where value.isFinite { record[key] = value }
        try AtomicFile.write(JSONSerialization.data(withJSONObject: record, options: [.prettyPrinted, .sortedKeys]), to: staging + "/gold_peak.json")
        try? files.removeItem(atPath: previous)
        if files.fileExists(atPath: directory) { try files.moveItem(atPath: directory, toPath: previous) }
        try files.moveItem(atPath: staging, toPath: directory)
        try? files.removeItem(atPath: previous)
    }

    /// The live part of a progress line: reward, KL, clipping, length.
    static func summary(_ values: [String: Double]) -> String {
        func f(_ name: String, _ label: String, _ format: String = "%.3f") -> String? {
            values[name].map { label + " " + String(format: format, $0) }
        }
        return [f("objective/scores", "reward"), f("objective/gold_scores", "gold"), f("objective/kl", "kl", "%.2f"), f("policy/clipfrac_avg", "clip", "%.2f"),
                f("completions/mean_length", "len", "%.1f")].compactMap { $0 }.joined(separator: " ")
    }

}
