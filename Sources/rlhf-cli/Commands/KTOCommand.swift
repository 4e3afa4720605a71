import ArgumentParser
import Foundation
import RLHF

/// `rlhf kto`: KTO on unpaired preference data (TRL's `KTOTrainer`).
struct KTOCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kto",
        abstract: "KTO on unpaired data: completions labelled desirable or undesirable.",
        discussion: """
            --data is a JSONL file in TRL's unpaired preference format: "prompt", "completion" \
            (strings or chat-message lists) and a boolean "label". Each example's loss is \
            w·(1 − σ(±β(r − z0))), r its sequence log-ratio to the reference, z0 the batch's mean \
            log-ratio of mismatched (prompt, completion) pairs (each prompt with the completion \
            before it in its chunk of --batch-size examples, as TRL builds them), clamped at 0 and \
            held constant. A warning is printed when desirable_weight·n_desirable / \
            (undesirable_weight·n_undesirable) is outside [1, 4/3] (TRL's recommendation). The \
            reference, the frozen trunk, --output and --resume work as for `rlhf dpo`.
            """)

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var dataOptions: DataOptions
    @OptionGroup var training: TrainingOptions
    @OptionGroup var preference: PreferenceOptions

    @Option(help: "w_D, the weight of desirable examples' losses (TRL desirable_weight).")
    var desirableWeight: Double = 1

    @Option(help: "w_U, the weight of undesirable examples' losses (TRL undesirable_weight).")
    var undesirableWeight: Double = 1

    func validate() throws {
        guard desirableWeight >= 0, desirableWeight.isFinite, undesirableWeight >= 0, undesirableWeight.isFinite,
              desirableWeight + undesirableWeight > 0 else {
            throw ValidationError("--desirable-weight and --undesirable-weight must be 0 or more, not both 0")
        }
        guard training.batchSize >= 2 else {
            throw ValidationError("--batch-size must be at least 2 for KTO (z0 needs mismatched pairs within a batch)")
        }
    }

    var parameters: DirectPreferenceTrainer.KTOParameters {
        var p = DirectPreferenceTrainer.KTOParameters()
        p.beta = preference.beta
        p.desirableWeight = desirableWeight
        p.undesirableWeight = undesirableWeight
        p.training = training.epochTraining(evaluationInterval: preference.evalInterval, checkpointInterval: preference.checkpointInterval)
        return p
    }

    func run() throws {
        let parameters = self.parameters
        let dataset = try UnpairedPreferenceDataset.load(path: dataOptions.data)
        let evalDataset = try dataOptions.evalData.map { try UnpairedPreferenceDataset.load(path: $0) }
        let run = PreferenceRun(modelOptions: modelOptions, dataOptions: dataOptions, training: training, preference: preference)
        let session = try run.begin(record: PreferenceRun.Record(algorithm: "kto", trainer: parameters, trainableBlocks: training.trainableBlocks,
                                                                 reference: preference.reference),
                                    optimizer: parameters.training.optimizer)
        let encoded = try session.encoder.encode(dataset)
        var (train, heldOut) = dataOptions.split(encoded.examples, seed: training.seed)
        if let evalDataset { (train, heldOut) = (encoded.examples, try session.encoder.encode(evalDataset).examples) }
        guard !train.isEmpty else { throw ValidationError("\(dataOptions.data): no training examples left after the held-out split") }
        let desirable = train.filter(\.label).count
        if let warning = DirectPreferenceTrainer.weightWarning(desirable: desirable, undesirable: train.count - desirable, parameters: parameters) {
            Terminal.error("warning: \(warning)\n")
        }

        let clock = ContinuousClock(), prepareStart = clock.now
        let model = session.policy.model
        let prepared = try DirectPreferenceTrainer.prepareKTO(
            train, policy: model, reference: session.reference, paddingToken: session.padding, batchSize: parameters.training.batchSize)
        let held = try DirectPreferenceTrainer.prepareKTO(
            heldOut, policy: model, reference: session.reference, paddingToken: session.padding, batchSize: parameters.training.batchSize)
        Terminal.error("""
            kto: β \(parameters.beta), desirable weight \(desirableWeight), undesirable weight \(undesirableWeight), \(parameters.training.epochs) epoch(s) × batch \(parameters.training.batchSize), lr \(parameters.training.learningRate)
            data: \(dataOptions.data): \(dataset.records.count) examples → \(train.count) training (\(desirable) desirable) / \(heldOut.count) held out\(dataOptions.evalData.map { " (\($0))" } ?? ""); \(encoded.report)
            \(run.describe(trunk: prepared.trunk, referenceUsedTrunk: prepared.referenceUsedTrunk, rows: 2 * (train.count + heldOut.count),
                           seconds: (clock.now - prepareStart).seconds))

            """)

        var state = session.state
        var printer = ProgressPrinter(plainEvery: 1)
        var last: DirectPreferenceTrainer.Evaluation?
        try DirectPreferenceTrainer.trainKTO(
            model: model, optimizer: session.optimizer, state: &state, training: prepared, heldOut: held, parameters: parameters,
            checkpoint: session.checkpoint
        ) { event in
            if case let .step(m, d) = event {
                // A batch with one side only has no margin.
                let margin = d.value(named: "rewards/margins").map { String(format: " margin %.3f", $0) } ?? ""
                printer.step(m.step, of: m.totalSteps, String(format: "loss %.4f", m.loss) + margin + String(
                    format: " kl %.3f lr %.2e %d tok/s", d.value(named: "kl") ?? .nan, Double(m.learningRate), Int(m.tokensPerSecond)))
            }
            if case let .evaluation(_, e) = event { last = e }
            session.report(event, printer: &printer)
            return .more
        }
        try session.finish(last)
    }
}
