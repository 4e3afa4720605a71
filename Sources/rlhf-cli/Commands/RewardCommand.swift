import ArgumentParser
import Foundation
import RLHF

/// `rlhf reward`: a Bradley–Terry reward model (or an ensemble of them) from preference pairs.
struct RewardCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reward",
        abstract: "Train a Bradley–Terry reward model (or an ensemble) on preference pairs.",
        discussion: """
            --data is a JSONL preference file in TRL's format: "prompt", "chosen", "rejected" as \
            strings or chat-message lists (or "chosen"/"rejected" as whole conversations sharing \
            a prefix), optional "margin". The model is a .gguf file or a Hugging Face directory; \
            a scalar head (score.weight) is added and read at the last token of each completion. \
            The result is a Hugging Face LlamaForSequenceClassification directory in --output; \
            with --members K, K members differing in seed (head initialisation, data order) go to \
            --output/member-0 … and ensemble.json describes them.
            """)

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var dataOptions: DataOptions
    @OptionGroup var training: TrainingOptions

    @Option(help: "Ensemble members, differing in seed (1: a single reward model).")
    var members: Int = 1

    @Option(help: "TRL center_rewards_coefficient: adds c·mean((r_chosen + r_rejected)²) to the loss.")
    var centerRewardsCoefficient: Double?

    @Flag(help: "Ignore the data's per-pair 'margin' column.")
    var ignoreMargins = false

    @Option(help: "Evaluate on the held-out pairs every N steps (0: at the end only).")
    var evalInterval: Int = 0

    @Option(help: "Default combiner written to ensemble.json: mean, wco or uwo.")
    var combiner: String = "mean"

    @Option(help: "λ of the uncertainty-weighted combiner (mean − λ·population variance).")
    var uwoLambda: Double = 0.5

    func validate() throws {
        guard members >= 1 else { throw ValidationError("--members must be at least 1") }
        guard EnsembleCombiner(name: combiner, lambda: uwoLambda) != nil else {
            throw ValidationError("--combiner must be mean, wco or uwo (got '\(combiner)')")
        }
    }

    func parameters(seed: UInt64) -> RewardModelTrainer.Parameters {
        var p = RewardModelTrainer.Parameters()
        p.training = training.epochTraining(evaluationInterval: evalInterval)
        p.training.seed = seed
        p.centeringCoefficient = centerRewardsCoefficient
        p.useMargins = !ignoreMargins
        return p
    }

    func run() throws {
        let dataset = try PreferenceDataset.load(path: dataOptions.data)
        let first = try ModelOptions.load(path: modelOptions.model, scalarHead: true)
        guard let tokenizer = first.tokenizer else { throw ValidationError("\(modelOptions.model) has no tokenizer") }
        let encoder = DatasetEncoder(tokenizer: tokenizer, template: first.chatTemplate, truncation: dataOptions.truncation)
        let encoded = try encoder.encode(dataset)
        var (train, heldOut) = dataOptions.split(encoded.examples, seed: training.seed)
        if let evalData = dataOptions.evalData {
            train = encoded.examples
            heldOut = try encoder.encode(PreferenceDataset.load(path: evalData)).examples
        }
        guard !train.isEmpty else { throw ValidationError("\(dataOptions.data): no training pairs left after the held-out split") }
        let padding = first.model.configuration.paddingTokenId ?? 0
        let endToken = RewardModel.endToken(of: first)
        let blocks = first.model.configuration.blockCount
        Terminal.error("""
            model: \(modelOptions.model): \(blocks) blocks, hidden \(first.model.configuration.hiddenSize), \
            training \(training.trainableBlocks == 0 ? "every block" : "the top \(min(training.trainableBlocks, blocks)) blocks") + score head
            data: \(dataOptions.data): \(dataset.records.count) pairs → \(train.count) training / \(heldOut.count) held out\(dataOptions.evalData.map { " (\($0))" } ?? ""); \(encoded.report)

            """)
        let metricsFile = try training.metrics.map { try MetricsWriter(path: $0) }
        // Every member freezes the same lower blocks of the same base: their output is computed
        // once, here, and each member trains and scores only its top blocks.
        first.model.trainable = training.trainableBlocks == 0 ? .all : .topBlocks(training.trainableBlocks, of: blocks)
        var trunk: RewardModelTrainer.FrozenTrunk?, heldOutTrunk: RewardModelTrainer.FrozenTrunk?
        if let block = RewardModelTrainer.frozenBlocks(of: first.model) {
            let start = ContinuousClock.now
            trunk = try RewardModelTrainer.frozenTrunk(
                model: first.model, pairs: train, block: block, paddingToken: padding, endToken: endToken, batchSize: training.batchSize)
            heldOutTrunk = try RewardModelTrainer.frozenTrunk(
                model: first.model, pairs: heldOut, block: block, paddingToken: padding, endToken: endToken, batchSize: training.batchSize)
            Terminal.error("frozen trunk (blocks 0..<\(block)) computed once for \(train.count + heldOut.count) pairs in \(String(format: "%.1f", (ContinuousClock.now - start).seconds)) s\n")
        }
        var memberScores = [(chosen: [Double], rejected: [Double])]()
        var seeds = [UInt64]()
        for member in 0..<members {
            let seed = training.seed &+ UInt64(member)
            let pretrained = member == 0 ? first : try ModelOptions.load(path: modelOptions.model, scalarHead: true)
            pretrained.model.trainable = training.trainableBlocks == 0
                ? .all : .topBlocks(training.trainableBlocks, of: blocks)
            pretrained.model.initializeScalarHead(seed: seed)
            if members > 1 { Terminal.error("member \(member + 1) of \(members) (seed \(seed))\n") }
            var printer = ProgressPrinter()
            let evaluation = try RewardModelTrainer.train(
                model: pretrained.model, pairs: train, heldOut: heldOut, parameters: parameters(seed: seed),
                paddingToken: padding, endToken: endToken, trunk: trunk, heldOutTrunk: heldOutTrunk
            ) { event in
                switch event {
                case let .step(m, accuracy):
                    metricsFile?.write(event: "step", m, extra: ["accuracy": accuracy, "member": Double(member)])
                    printer.step(m.step, of: m.totalSteps, "loss \(String(format: "%.4f", m.loss)) accuracy \(String(format: "%.2f", accuracy)) lr \(String(format: "%.2e", Double(m.learningRate))) \(Int(m.tokensPerSecond)) tok/s")
                case let .evaluation(step, e):
                    metricsFile?.write(event: "evaluation", e, extra: ["step": Double(step), "member": Double(member)])
                    printer.line(Self.describe(e, step: step))
                }
                return .more
            }
            let directory = members == 1 ? training.output : training.output + "/member-\(member)"
            try pretrained.save(directory: directory, as: .sequenceClassification)
            if let evaluation { try Self.writeJSON(evaluation, to: directory + "/evaluation.json") }
            Terminal.error("saved \(directory)\n")
            if members > 1, !heldOut.isEmpty {
                memberScores.append(try RewardModelTrainer.scores(
                    model: pretrained.model, pairs: heldOut, paddingToken: padding, endToken: endToken, batchSize: training.batchSize,
                    trunk: heldOutTrunk))
            }
            seeds.append(seed)
        }
        guard members > 1 else { return }
        let manifest = RewardEnsemble.Manifest(
            members: (0..<members).map { "member-\($0)" }, seeds: seeds, combiner: combiner, uncertaintyWeight: uwoLambda,
            sharedBlocks: training.trainableBlocks == 0 ? 0 : max(0, blocks - training.trainableBlocks))
        try Self.writeJSON(manifest, to: training.output + "/ensemble.json")
        guard !heldOut.isEmpty else { return }
        var summary = [String: RewardModelTrainer.Evaluation]()
        for name in ["mean", "wco", "uwo"] {
            let combine = EnsembleCombiner(name: name, lambda: uwoLambda)!
            let chosen = combine.combine(members: memberScores.map(\.chosen)), rejected = combine.combine(members: memberScores.map(\.rejected))
            let evaluation = RewardModelTrainer.evaluation(chosen: chosen, rejected: rejected, pairs: heldOut)
            summary[name] = evaluation
            Terminal.error("ensemble \(name): " + Self.describe(evaluation, step: nil) + "\n")
        }
        try Self.writeJSON(summary, to: training.output + "/evaluation.json")
        Terminal.error("saved \(training.output)/ensemble.json\n")
    }

    static func describe(_ e: RewardModelTrainer.Evaluation, step: Int?) -> String {
        let correlation = e.lengthCorrelation.map { String(format: "%.2f", $0) } ?? "n/a"
        return (step.map { "eval at step \($0): " } ?? "")
            + String(format: "accuracy %.3f, loss %.4f, margin %.3f, chosen %.3f / rejected %.3f, ECE %.3f, Brier %.3f, ",
                     e.accuracy, e.loss, e.margin, e.meanChosenReward, e.meanRejectedReward, e.expectedCalibrationError, e.brierScore)
            + "reward~length r \(correlation) (\(e.pairs) held-out pairs)"
    }

    static func writeJSON(_ value: some Encodable, to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        try AtomicFile.write(encoder.encode(value), to: path)
    }
}
