import ArgumentParser
import RLHF

import Foundation

/// `rlhf sft`: next-token training on a text file.
struct SFTCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sft",
        abstract: "Supervised fine-tuning (next-token prediction) of a Llama model.",
        discussion: """
            With --model (a .gguf file or a Hugging Face directory), fine-tunes that model on --data, \
            a JSONL file in one of TRL's SFT formats: "text"; "messages" (loss on assistant turns \
            only); or "prompt" + "completion" (loss on the completion only). The top \
            --trainable-blocks blocks train. --output becomes a Hugging Face model directory \
            (config.json, model.safetensors, tokenizer.json, chat template) plus the optimizer and \
            trainer state for --resume.
            Without --model, trains a new byte-level Llama (a preset) from scratch on a UTF-8 text \
            file. Progress goes to standard error, one JSON object per step to --metrics; \
            checkpoints are written atomically.
            """)

    enum Preset: String, ExpressibleByArgument, CaseIterable {
        case tiny, small
        var configuration: LlamaConfiguration {
            switch self {
            case .tiny: return Self.byteLevel(hidden: 64, ffn: 176, blocks: 2, heads: 4, keyValueHeads: 2)
            case .small: return Self.byteLevel(hidden: 192, ffn: 512, blocks: 4, heads: 6, keyValueHeads: 2)
            }
        }

        static func byteLevel(hidden: Int, ffn: Int, blocks: Int, heads: Int, keyValueHeads: Int) -> LlamaConfiguration {
            let tokenizer = ByteTokenizer()
            return LlamaConfiguration(
                vocabularySize: tokenizer.vocabularySize, hiddenSize: hidden, intermediateSize: ffn, blockCount: blocks,
                attentionHeadCount: heads, keyValueHeadCount: keyValueHeads, ropeTheta: 10_000, maximumSequenceLength: 512,
                beginningOfSequenceTokenId: tokenizer.beginningOfSequenceTokenId,
                endOfSequenceTokenId: tokenizer.endOfSequenceTokenId, paddingTokenId: tokenizer.paddingTokenId)
        }
    }

    @Option(help: "Training data: a JSONL SFT file with --model, else a UTF-8 text file (the last 10% is held out).")
    var data: String

    @Option(help: "A pretrained model to fine-tune (.gguf or Hugging Face directory); omit to train a preset from scratch.")
    var model: String?

    @Option(help: "With --model: train only the top K blocks (0: every block).")
    var trainableBlocks: Int = 2

    @Option(help: "With --model: passes over the data.")
    var epochs: Int = 1

    @Option(help: "With --model: fraction of the records held out for evaluation.")
    var evalFraction: Double = 0.1

    @Option(help: "With --model: keep only the last N tokens of each prompt.")
    var maxPromptTokens: Int?

    @Option(help: "With --model: cut examples to N tokens.")
    var maxLength: Int?

    @Option(help: "With --model: warm-up steps as a fraction of all steps.")
    var warmupRatio: Double = 0

    @Option(help: "Directory for the checkpoint.")
    var output: String = "runs/sft"

    @Option(help: "Model preset for a new model: \(Preset.allCases.map(\.rawValue).joined(separator: ", ")).")
    var preset: Preset = .small

    @Flag(help: "Continue from the checkpoint in --output: weights, optimizer moments, step and RNG come from it; the schedule follows this command's --steps / --warmup-steps (the same command resumes exactly).")
    var resume = false

    @Option(help: "Optimizer steps.") var steps: Int = 300
    @Option(help: "Windows per step.") var batchSize: Int = 8
    @Option(help: "Tokens per window.") var sequenceLength: Int = 128
    @Option(help: "Peak learning rate (default 3e-3 from scratch with a cosine schedule; 1e-4 with --model, linear decay).") var learningRate: Float?
    @Option(help: "Warm-up steps.") var warmupSteps: Int = 20
    @Option(help: "Evaluate every N steps (0: at the end only).") var evalInterval: Int = 50
    @Option(help: "Checkpoint every N steps (0: at the end only).") var checkpointInterval: Int = 100
    @Option(help: "Random seed (weights and batches).") var seed: UInt64 = 0
    @Option(help: "Append one JSON object per step/evaluation to this file.") var metrics: String?
    @Option(help: "Bytes of greedy continuation to print after training (0: none).") var sampleLength: Int = 160

    func validate() throws {
        guard steps > 0, batchSize > 0, sequenceLength > 1 else {
            throw ValidationError("--steps and --batch-size must be positive and --sequence-length at least 2")
        }
        if let learningRate { guard learningRate > 0, learningRate.isFinite else { throw ValidationError("--learning-rate must be positive") } }
        guard epochs > 0, trainableBlocks >= 0, (0..<1).contains(evalFraction), (0..<1).contains(warmupRatio) else {
            throw ValidationError("need --epochs > 0, --trainable-blocks ≥ 0, 0 ≤ --eval-fraction < 1, 0 ≤ --warmup-ratio < 1")
        }
    }

    var parameters: SFTTrainer.Parameters {
        var p = SFTTrainer.Parameters()
        p.steps = steps
        p.batchSize = batchSize
        p.sequenceLength = sequenceLength
        p.learningRate = learningRate ?? 3e-3
        p.warmupSteps = warmupSteps
        p.evaluationInterval = evalInterval
        p.checkpointInterval = checkpointInterval
        p.checkpointDirectory = output
        p.seed = seed
        return p
    }

    func run() throws {
        if model != nil { return try runPretrained() }
        let tokenizer = ByteTokenizer()
        guard let text = try? String(contentsOfFile: data, encoding: .utf8) else {
            throw ValidationError("cannot read \(data) as UTF-8 text")
        }
        let tokens = tokenizer.encode(text).map { Int32($0) }
        let split = tokens.count * 9 / 10
        let training = Array(tokens[..<split]), validation = Array(tokens[split...])

        let model: LlamaModel, optimizer: AdamW
        var state: Checkpoint.TrainerState
        if resume {
            (model, optimizer, state) = try Checkpoint.load(from: output, optimizer: parameters.optimizer)
            Self.reportResume(output, step: state.step, differences: try Checkpoint.differences(from: output, to: parameters))
        } else {
            model = LlamaModel(configuration: preset.configuration, seed: seed)
            optimizer = AdamW(model: model, configuration: parameters.optimizer)
            state = SFTTrainer.initialState(for: model, parameters: parameters)
        }
        guard model.configuration.vocabularySize == tokenizer.vocabularySize else {
            throw ValidationError("the checkpoint's vocabulary (\(model.configuration.vocabularySize)) is not the byte tokenizer's (\(tokenizer.vocabularySize))")
        }
        guard sequenceLength <= model.configuration.maximumSequenceLength else {
            throw ValidationError("--sequence-length exceeds the model's \(model.configuration.maximumSequenceLength) positions")
        }
        Terminal.error("""
            model: \(model.configuration.blockCount) blocks, hidden \(model.configuration.hiddenSize), \
            \(model.parameterCount) parameters, GEMM: \(model.multiplier.name)
            data: \(data): \(training.count) training / \(validation.count) held-out tokens (bytes)

            """)
        let metricsFile = try metrics.map { try MetricsWriter(path: $0) }
        var printer = ProgressPrinter()
        try SFTTrainer.train(
            model: model, optimizer: optimizer, state: &state, training: training, validation: validation,
            parameters: parameters
        ) { event in
            Self.report(event, metrics: metricsFile, printer: &printer, heldOut: "held-out loss")
            return .more
        }
        if sampleLength > 0 {
            let prompt = Array(validation.prefix(48)).map { Int($0) }
            let continuation = try model.generate(
                prompts: [prompt], parameters: .greedy(maximumNewTokens: sampleLength, stopTokenIds: [tokenizer.endOfSequenceTokenId ?? -1])).tokens[0]
            print("prompt:      \(tokenizer.decode(prompt).debugDescription)")
            print("continued:   \(tokenizer.decode(continuation).debugDescription)")
        }
    }
}

extension SFTCommand {
    /// Progress line and metrics line of one training event (TRL's `eval_loss` name).
    static func report(_ event: TrainingProgress, metrics: MetricsWriter?, printer: inout ProgressPrinter, heldOut: String) {
        switch event {
        case let .step(m):
            metrics?.write(event: "step", m)
            printer.step(m.step, of: m.totalSteps, "loss \(String(format: "%.4f", m.loss)) lr \(String(format: "%.2e", Double(m.learningRate))) \(Int(m.tokensPerSecond)) tok/s")
        case let .evaluation(step, loss):
            metrics?.write(event: "evaluation", ["step": Double(step), "eval_loss": loss])
            printer.line("eval at step \(step): \(heldOut) \(String(format: "%.4f", loss))")
        case let .checkpoint(step, path):
            metrics?.write(event: "checkpoint", ["step": String(step), "path": path])
            printer.line("saved \(path) at step \(step)")
        }
    }

    /// Says where a resumed run continues and which settings differ from the checkpoint's record
    /// (this command's values are the ones used).
    static func reportResume(_ directory: String, step: Int, differences: [String]) {
        Terminal.error("resuming \(directory) at step \(step)\n")
        if !differences.isEmpty {
            Terminal.error("settings changed since the checkpoint (this command's values are used):\n" + differences.map { "  \($0)\n" }.joined())
        }
    }

    var exampleParameters: SFTTrainer.ExampleParameters {
        var p = SFTTrainer.ExampleParameters()
        p.training = EpochTraining(
            epochs: epochs, batchSize: batchSize, learningRate: learningRate ?? 1e-4, warmupRatio: warmupRatio,
            evaluationInterval: evalInterval, checkpointInterval: checkpointInterval, seed: seed)
        p.checkpointDirectory = output
        return p
    }

    /// Fine-tuning a pretrained model on a JSONL SFT file.
    func runPretrained() throws {
        guard let modelPath = model else { return }
        let dataset = try SFTDataset.load(path: data)
        var pretrained = try ModelOptions.load(path: modelPath)
        guard let tokenizer = pretrained.tokenizer else { throw ValidationError("\(modelPath) has no tokenizer") }
        let encoder = DatasetEncoder(
            tokenizer: tokenizer, template: pretrained.chatTemplate,
            truncation: TruncationPolicy(maxPromptTokens: maxPromptTokens, maxLength: maxLength))
        let encoded = try encoder.encode(dataset)
        let (training, heldOut) = DataOptions.split(encoded.examples, fraction: evalFraction, seed: seed)
        guard !training.isEmpty else { throw ValidationError("\(data): no training examples left after the held-out split") }
        let parameters = exampleParameters
        let blocks = pretrained.model.configuration.blockCount
        var optimizer: AdamW, state: Checkpoint.TrainerState
        if resume {
            let restored = try Checkpoint.load(from: output, optimizer: parameters.training.optimizer)
            pretrained = PretrainedModel(
                model: restored.model, tokenizer: pretrained.tokenizer, chatTemplate: pretrained.chatTemplate,
                chatTemplateSource: pretrained.chatTemplateSource)
            (optimizer, state) = (restored.optimizer, restored.state)
            Self.reportResume(output, step: state.step, differences: try Checkpoint.differences(from: output, to: parameters))
        } else {
            pretrained.model.trainable = trainableBlocks == 0 ? .all : .topBlocks(trainableBlocks, of: blocks)
            pretrained.model.trainable.tokenEmbedding = trainableBlocks == 0
            optimizer = AdamW(model: pretrained.model, configuration: parameters.training.optimizer)
            state = SFTTrainer.initialState(for: pretrained.model, parameters: parameters, examples: training.count)
        }
        let selected = training.reduce(0) { $0 + $1.lossMask.filter { $0 }.count }
        Terminal.error("""
            model: \(modelPath): \(blocks) blocks, training \(trainableBlocks == 0 ? "every block" : "the top \(min(trainableBlocks, blocks)) blocks"), GEMM: \(pretrained.model.multiplier.name)
            data: \(data): \(dataset.records.count) records → \(training.count) training / \(heldOut.count) held out; \(selected) training tokens carry loss; \(encoded.report)

            """)
        let metricsFile = try metrics.map { try MetricsWriter(path: $0) }
        var printer = ProgressPrinter()
        let model = pretrained
        try SFTTrainer.train(
            model: model.model, optimizer: optimizer, state: &state, examples: training, heldOut: heldOut, parameters: parameters,
            paddingToken: model.model.configuration.paddingTokenId ?? 0,
            checkpoint: { state in
                try Checkpoint.save(model: model.model, optimizer: optimizer, state: state, parameters: parameters, to: output, pretrained: model)
                return output
            }
        ) { event in
            Self.report(event, metrics: metricsFile, printer: &printer, heldOut: "held-out completion loss")
            return .more
        }
    }
}
