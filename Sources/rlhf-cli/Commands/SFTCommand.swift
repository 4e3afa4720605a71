import ArgumentParser
import RLHF

import Foundation

/// `rlhf sft`: next-token training on a text file.
struct SFTCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sft",
        abstract: "Supervised fine-tuning (next-token prediction) of a Llama model on a text file.",
        discussion: """
            Trains a new byte-level Llama (a preset) from scratch, or continues a checkpoint with \
            --resume. Progress goes to standard error, one JSON object per step to --metrics, and \
            the checkpoint (Hugging Face config.json + model.safetensors, optimizer state, trainer \
            state) to --output, written atomically.
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

    @Option(help: "UTF-8 text file to train on (the last 10% is held out for evaluation).")
    var data: String

    @Option(help: "Directory for the checkpoint.")
    var output: String = "runs/sft"

    @Option(help: "Model preset for a new model: \(Preset.allCases.map(\.rawValue).joined(separator: ", ")).")
    var preset: Preset = .small

    @Flag(help: "Continue from the checkpoint in --output: weights, optimizer moments, step and RNG come from it; the schedule follows this command's --steps / --warmup-steps (the same command resumes exactly).")
    var resume = false

    @Option(help: "Optimizer steps.") var steps: Int = 300
    @Option(help: "Windows per step.") var batchSize: Int = 8
    @Option(help: "Tokens per window.") var sequenceLength: Int = 128
    @Option(help: "Peak learning rate (cosine schedule with warm-up).") var learningRate: Float = 3e-3
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
        guard learningRate > 0, learningRate.isFinite else { throw ValidationError("--learning-rate must be positive") }
    }

    var parameters: SFTTrainer.Parameters {
        var p = SFTTrainer.Parameters()
        p.steps = steps
        p.batchSize = batchSize
        p.sequenceLength = sequenceLength
        p.optimizer.learningRate = learningRate
        p.warmupSteps = warmupSteps
        p.evaluationInterval = evalInterval
        p.checkpointInterval = checkpointInterval
        p.checkpointDirectory = output
        p.seed = seed
        return p
    }

    func run() throws {
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
            (model, optimizer, state) = try Checkpoint.load(from: output)
            state.schedule = parameters.schedule
            Terminal.error("resuming \(output) at step \(state.step)\n")
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
        try SFTTrainer.train(
            model: model, optimizer: optimizer, state: &state, training: training, validation: validation,
            parameters: parameters
        ) { event in
            metricsFile?.write(event)
            switch event {
            case let .step(m):
                let line = Terminal.progressBar(
                    fraction: Double(m.step) / Double(m.totalSteps),
                    label: "step \(m.step)/\(m.totalSteps) loss \(String(format: "%.4f", m.loss)) lr \(String(format: "%.2e", Double(m.learningRate))) \(Int(m.tokensPerSecond)) tok/s")
                if Terminal.isInteractive {
                    Terminal.error("\r" + line + "   ")
                } else if m.step == 1 || m.step % 10 == 0 || m.step == m.totalSteps {
                    Terminal.error(line + "\n")
                }
            case .evaluation, .checkpoint:
                Terminal.error((Terminal.isInteractive ? "\n" : "") + event.description + "\n")
            }
            return .more
        }
        if sampleLength > 0 {
            let prompt = Array(validation.prefix(48)).map { Int($0) }
            let continuation = try model.greedyContinuationReference(prompt: prompt, maximumNewTokens: sampleLength)
            print("prompt:      \(tokenizer.decode(prompt).debugDescription)")
            print("continued:   \(tokenizer.decode(continuation).debugDescription)")
        }
    }
}

/// Appends one JSON object per training event to a file (JSON Lines).
final class MetricsWriter {
    let handle: FileHandle

    init(path: String) throws {
        let parent = URL(fileURLWithPath: path).deletingLastPathComponent().path
        try? FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
        if !FileManager.default.fileExists(atPath: path) {
            FileManager.default.createFile(atPath: path, contents: nil)
        }
        guard let handle = FileHandle(forWritingAtPath: path) else {
            throw ValidationError("cannot open \(path) for writing")
        }
        handle.seekToEndOfFile()
        self.handle = handle
    }

    func write(_ event: TrainingProgress) {
        let line: String
        switch event {
        case let .step(m):
            line = #"{"event":"step","step":\#(m.step),"loss":\#(m.loss),"learning_rate":\#(m.learningRate),"grad_norm":\#(m.gradientNorm),"tokens_per_second":\#(m.tokensPerSecond),"elapsed_seconds":\#(m.elapsedSeconds)}"#
        case let .evaluation(step, loss):
            line = #"{"event":"evaluation","step":\#(step),"loss":\#(loss)}"#
        case let .checkpoint(step, path):
            line = #"{"event":"checkpoint","step":\#(step),"path":\#(path.debugDescription)}"#
        }
        handle.write(Data((line + "\n").utf8))
    }
}
