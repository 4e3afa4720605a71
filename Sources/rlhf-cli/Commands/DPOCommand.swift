import ArgumentParser
import Foundation
import RLHF

/// `rlhf dpo`: offline DPO and its family (cDPO, robust, IPO, hinge; RPO) on preference pairs.
struct DPOCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dpo",
        abstract: "Offline DPO (cDPO, robust, IPO, hinge; optionally RPO) on preference pairs.",
        discussion: """
            --data is a JSONL preference file in TRL's format: "prompt", "chosen", "rejected" as \
            strings or chat-message lists (or "chosen"/"rejected" as whole conversations sharing \
            a prefix). Log-probs are summed over completion tokens (prompt masked). The reference \
            (--reference, default a separate copy of the starting --model) is scored once per pair \
            before training; with --trainable-blocks K the frozen lower blocks run once per row, \
            shared by the reference pass and every epoch. --loss-type sigmoid with \
            --label-smoothing ε > 0 is cDPO; robust needs 0 ≤ ε < 0.5; ipo uses β as τ on summed \
            log-ratios (--ipo-length-normalized: TRL's per-token means). --rpo-alpha η adds η times \
            the chosen responses' NLL (average: token mean, as TRL's rpo_alpha; cumulative: \
            η·β·summed NLL, the RPO paper's form). --output becomes a Hugging Face model directory \
            with the optimizer and trainer state for --resume; held-out metrics (TRL names) go to \
            --metrics and --output/evaluation.json.
            """)

    enum LossType: String, ExpressibleByArgument, CaseIterable {
        case sigmoid, robust, ipo, hinge
    }

    enum RPOVariant: String, ExpressibleByArgument, CaseIterable {
        case cumulative, average
    }

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var dataOptions: DataOptions
    @OptionGroup var training: TrainingOptions
    @OptionGroup var preference: PreferenceOptions

    @Option(help: "The per-pair loss (TRL loss_type): sigmoid (DPO; cDPO with --label-smoothing), robust, ipo or hinge.")
    var lossType: LossType = .sigmoid

    @Option(help: "ε, the assumed share of flipped labels: cDPO with sigmoid (0 ≤ ε ≤ 0.5), robust DPO (0 ≤ ε < 0.5).")
    var labelSmoothing: Double = 0

    @Option(help: "η of RPO's NLL term on the chosen responses (TRL rpo_alpha; off when omitted).")
    var rpoAlpha: Double?

    @Option(help: "RPO's form: average (token-mean NLL, TRL's rpo_alpha; the default) or cumulative (η·β·summed NLL).")
    var rpoVariant: RPOVariant?

    @Flag(help: "IPO on per-token mean log-ratios (TRL's form) instead of sums.")
    var ipoLengthNormalized = false

    func validate() throws {
        switch lossType {
        case .sigmoid:
            guard (0...0.5).contains(labelSmoothing) else { throw ValidationError("--label-smoothing must be in [0, 0.5] with --loss-type sigmoid (cDPO)") }
        case .robust:
            guard labelSmoothing >= 0, labelSmoothing < 0.5 else { throw ValidationError("--label-smoothing must be in [0, 0.5) with --loss-type robust") }
        case .ipo, .hinge:
            guard labelSmoothing == 0 else {
                throw ValidationError("--label-smoothing applies to --loss-type sigmoid (cDPO) and robust, not \(lossType.rawValue)")
            }
        }
        if ipoLengthNormalized && lossType != .ipo { throw ValidationError("--ipo-length-normalized needs --loss-type ipo") }
        if let rpoAlpha, !(rpoAlpha >= 0 && rpoAlpha.isFinite) { throw ValidationError("--rpo-alpha must be 0 or more") }
        if rpoVariant != nil && rpoAlpha == nil { throw ValidationError("--rpo-variant needs --rpo-alpha") }
    }

    var parameters: DirectPreferenceTrainer.Parameters {
        var p = DirectPreferenceTrainer.Parameters()
        switch lossType {
        case .sigmoid: p.loss = labelSmoothing > 0 ? .conservative(labelSmoothing: labelSmoothing) : .sigmoid
        case .robust: p.loss = .robust(labelSmoothing: labelSmoothing)
        case .ipo: p.loss = .ipo(lengthNormalized: ipoLengthNormalized)
        case .hinge: p.loss = .hinge
        }
        p.beta = preference.beta
        if let rpoAlpha {
            p.rpo = (rpoVariant ?? .average) == .average ? .average(eta: rpoAlpha) : .cumulative(eta: rpoAlpha)
        }
        p.training = training.epochTraining(evaluationInterval: preference.evalInterval, checkpointInterval: preference.checkpointInterval)
        return p
    }

    func run() throws {
        let parameters = self.parameters
        let dataset = try PreferenceDataset.load(path: dataOptions.data)
        let evalDataset = try dataOptions.evalData.map { try PreferenceDataset.load(path: $0) }
        let run = PreferenceRun(modelOptions: modelOptions, dataOptions: dataOptions, training: training, preference: preference)
        let session = try run.begin(record: PreferenceRun.Record(algorithm: "dpo", trainer: parameters, trainableBlocks: training.trainableBlocks,
                                                                 reference: preference.reference),
                                    optimizer: parameters.training.optimizer)
        let encoded = try session.encoder.encode(dataset)
        var (train, heldOut) = dataOptions.split(encoded.examples, seed: training.seed)
        if let evalDataset { (train, heldOut) = (encoded.examples, try session.encoder.encode(evalDataset).examples) }
        guard !train.isEmpty else { throw ValidationError("\(dataOptions.data): no training pairs left after the held-out split") }

        let clock = ContinuousClock(), prepareStart = clock.now
        let model = session.policy.model
        let prepared = try DirectPreferenceTrainer.prepare(
            train, policy: model, reference: session.reference, paddingToken: session.padding, batchSize: parameters.training.batchSize)
        let held = try DirectPreferenceTrainer.prepare(
            heldOut, policy: model, reference: session.reference, paddingToken: session.padding, batchSize: parameters.training.batchSize)
        Terminal.error("""
            dpo: \(describe(parameters))
            data: \(dataOptions.data): \(dataset.records.count) pairs → \(train.count) training / \(heldOut.count) held out\(dataOptions.evalData.map { " (\($0))" } ?? ""); \(encoded.report)
            \(run.describe(trunk: prepared.trunk, referenceUsedTrunk: prepared.referenceUsedTrunk, rows: 2 * (train.count + heldOut.count),
                           seconds: (clock.now - prepareStart).seconds))

            """)

        var state = session.state
        var printer = ProgressPrinter(plainEvery: 1)
        var last: DirectPreferenceTrainer.Evaluation?
        try DirectPreferenceTrainer.train(
            model: model, optimizer: session.optimizer, state: &state, training: prepared, heldOut: held, parameters: parameters,
            checkpoint: session.checkpoint
        ) { event in
            if case let .step(m, d) = event {
                printer.step(m.step, of: m.totalSteps, String(
                    format: "loss %.4f accuracy %.2f margin %.3f lr %.2e %d tok/s", m.loss, d.value(named: "rewards/accuracies") ?? .nan,
                    d.value(named: "rewards/margins") ?? .nan, Double(m.learningRate), Int(m.tokensPerSecond)))
            }
            if case let .evaluation(_, e) = event { last = e }
            session.report(event, printer: &printer)
            return .more
        }
        try session.finish(last)
    }

    func describe(_ p: DirectPreferenceTrainer.Parameters) -> String {
        var text = "loss \(lossType.rawValue)"
        if labelSmoothing > 0 { text += " (label smoothing \(labelSmoothing)\(lossType == .sigmoid ? ", cDPO" : ""))" }
        if ipoLengthNormalized { text += " (length-normalised)" }
        text += ", β \(p.beta)"
        if let rpo = p.rpo { text += ", RPO \(rpo)" }
        return text + ", \(p.training.epochs) epoch(s) × batch \(p.training.batchSize), lr \(p.training.learningRate)"
    }
}

/// Options `rlhf dpo` and `rlhf kto` share beyond the model, data and training groups (TRL names).
struct PreferenceOptions: ParsableArguments {
    @Option(help: "The reference model (a .gguf file or Hugging Face directory; default: a separate copy of the starting --model).")
    var reference: String?

    @Option(help: "β, the strength of the implicit KL to the reference (τ for IPO).")
    var beta: Double = 0.1

    @Option(help: "Evaluate on the held-out data every N steps (0: before the first step and after the last only).")
    var evalInterval: Int = 0

    @Option(help: "Write a checkpoint every N steps (0: at the end only).")
    var checkpointInterval: Int = 0

    @Flag(help: "Continue from the checkpoint in --output: weights, optimizer moments and step come from it, the data order from --seed (the same command resumes exactly).")
    var resume = false

    func validate() throws {
        guard beta > 0, beta.isFinite else { throw ValidationError("--beta must be positive") }
        guard evalInterval >= 0 else { throw ValidationError("--eval-interval must be 0 or more") }
        guard checkpointInterval >= 0 else { throw ValidationError("--checkpoint-interval must be 0 or more") }
        if let reference, !FileManager.default.fileExists(atPath: reference) {
            throw ValidationError("--reference: no such file or directory: \(reference)")
        }
    }
}

/// What `rlhf dpo` and `rlhf kto` share around their trainer: the policy (fresh or resumed),
/// the reference, the encoder, checkpoints as Hugging Face directories, progress and metrics.
struct PreferenceRun {
    /// Everything a run is configured with, recorded in the checkpoint's `parameters.json`.
    struct Record<Trainer: Codable & Sendable & Equatable>: Codable, Sendable, Equatable {
        var algorithm: String
        var trainer: Trainer
        var trainableBlocks: Int
        var reference: String?
    }

    let modelOptions: ModelOptions
    let dataOptions: DataOptions
    let training: TrainingOptions
    let preference: PreferenceOptions

    /// A started run.
    struct Session {
        let policy: PretrainedModel
        /// The reference to score once; nil: the policy before its first update (a fresh run).
        let reference: LlamaModel?
        let optimizer: AdamW
        let state: Checkpoint.TrainerState
        let encoder: DatasetEncoder
        let padding: Int
        let output: String
        let metrics: MetricsWriter?
        let checkpoint: (Checkpoint.TrainerState) throws -> String

        /// The metrics line and the progress line of everything but a step's progress line.
        func report(_ event: DirectPreferenceTrainer.Progress, printer: inout ProgressPrinter) {
            switch event {
            case let .step(m, diagnostics):
                metrics?.write(event: "step", m, extra: diagnostics.reduce(into: [:]) { $0[$1.name] = $1.value })
            case let .evaluation(step, e):
                metrics?.write(event: "evaluation", ["step": Double(step)], extra: e.namedValues)
                printer.line("eval at step \(step): \(e)")
            case let .checkpoint(step, path):
                metrics?.write(event: "checkpoint", ["step": String(step), "path": path])
                printer.line("saved \(path) at step \(step)")
            }
        }

        /// Writes the last held-out evaluation to `evaluation.json` beside the model.
        func finish(_ evaluation: DirectPreferenceTrainer.Evaluation?) throws {
            if let evaluation {
                var object: [String: Any] = evaluation.namedValues
                object["count"] = evaluation.count
                try AtomicFile.write(JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]),
                                     to: output + "/evaluation.json")
            }
            Terminal.error("\nsaved the policy to \(output) (a Hugging Face model directory)\n")
        }
    }

    /// Loads the starting model (or the checkpoint in `--output` with `--resume`) and the
    /// reference; `record` is compared with the checkpoint's on resume.
    func begin<Trainer>(record: Record<Trainer>, optimizer configuration: AdamW.Configuration) throws -> Session {
        let output = training.output
        let hasCheckpoint = Checkpoint.resolve(output) != nil
        if hasCheckpoint && !preference.resume {
            throw ValidationError("\(output) already holds a checkpoint: pass --resume to continue it, or choose another --output")
        }
        if preference.resume && !hasCheckpoint { throw ValidationError("--resume: no checkpoint in \(output)") }
        let start = try modelOptions.load()
        guard let tokenizer = start.tokenizer else { throw ValidationError("\(modelOptions.model) has no tokenizer") }
        let blocks = start.model.configuration.blockCount
        var policy = start
        let optimizer: AdamW, state: Checkpoint.TrainerState
        var reference: LlamaModel?
        if preference.resume {
            let restored = try Checkpoint.load(from: output, optimizer: configuration)
            policy = PretrainedModel(model: restored.model, tokenizer: start.tokenizer, chatTemplate: start.chatTemplate,
                                     chatTemplateSource: start.chatTemplateSource)
            (optimizer, state) = (restored.optimizer, restored.state)
            // The starting model is the reference: it is exactly what --model loads.
            reference = start.model
            SFTCommand.reportResume(output, step: state.step, differences: try Checkpoint.differences(from: output, to: record))
        } else {
            policy.model.trainable = training.trainableBlocks == 0 ? .all : .topBlocks(training.trainableBlocks, of: blocks)
            optimizer = AdamW(model: policy.model, configuration: configuration)
            state = Checkpoint.TrainerState(step: 0, generator: SeededGenerator(seed: training.seed), trainable: policy.model.trainable)
        }
        if let path = preference.reference {
            reference = try ModelOptions.load(path: path).model
            guard reference?.configuration.vocabularySize == start.model.configuration.vocabularySize else {
                throw ValidationError("--reference \(path) has a vocabulary of \(reference?.configuration.vocabularySize ?? 0), the policy \(start.model.configuration.vocabularySize)")
            }
        }
        Terminal.error("""
            policy: \(modelOptions.model): \(blocks) blocks, training \(training.trainableBlocks == 0 ? "every block" : "the top \(min(training.trainableBlocks, blocks))"); \
            reference: \(preference.reference ?? "a copy of --model"); GEMM: \(policy.model.multiplier.name)

            """)
        let metrics = try training.metrics.map { try MetricsWriter(path: $0) }
        let pretrained = policy
        return Session(
            policy: policy, reference: reference, optimizer: optimizer, state: state,
            encoder: DatasetEncoder(tokenizer: tokenizer, template: start.chatTemplate, truncation: dataOptions.truncation),
            padding: start.model.configuration.paddingTokenId ?? 0, output: output, metrics: metrics,
            checkpoint: { state in
                try Checkpoint.save(model: pretrained.model, optimizer: optimizer, state: state, parameters: record, to: output,
                                    pretrained: pretrained)
                return output
            })
    }

    /// One line on the frozen trunk and how the reference was scored.
    func describe(trunk: DirectPreferenceTrainer.FrozenTrunk?, referenceUsedTrunk: Bool, rows: Int, seconds: Double) -> String {
        let time = String(format: "%.1f s", seconds)
        guard let trunk else { return "reference log-probs computed once (whole forward passes) in \(time)" }
        return "frozen trunk (blocks 0..<\(trunk.block)) computed once for \(rows) rows and the reference scored "
            + (referenceUsedTrunk ? "on it" : "whole (its lower blocks differ from the policy's)") + " in \(time)"
    }
}
