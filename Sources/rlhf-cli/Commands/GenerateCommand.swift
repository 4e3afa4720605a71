import ArgumentParser
import Foundation
import RLHF

/// `rlhf generate`: sample continuations with the KV cache, streaming the first row.
struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate", abstract: "Sample text from a model (KV cache, temperature / top-k / top-p, batched).",
        discussion: """
            With --prompt, samples that prompt (--batch times) and streams the first sample. With \
            --prompts FILE (a JSONL prompt file in TRL's format: "prompt" as a string or messages), \
            samples --samples responses per prompt in batches and writes one JSON object per \
            response to --output (the record's fields, "completion", "sample", "finish_reason", \
            "completion_tokens").
            """)

    @OptionGroup var modelOptions: ModelOptions
    @Option(help: "The prompt text.") var prompt: String?
    @Option(help: "A JSONL file of prompts (instead of --prompt).") var prompts: String?
    @Option(help: "Responses per prompt with --prompts.") var samples: Int = 1
    @Option(help: "JSONL output file for --prompts (default: standard output).") var output: String?
    @Flag(help: "Wrap the prompt as a user message in the model's chat template.") var chat = false
    @Option(help: "System prompt for --chat (default: the template's own).") var system: String?
    @Option(help: "Sampling temperature (0: greedy).") var temperature: Float = 0.7
    @Option(help: "Keep the k most likely tokens (0: all).") var topK: Int = 0
    @Option(help: "Nucleus sampling mass.") var topP: Float = 0.95
    @Option(help: "Most new tokens.") var maxTokens: Int = 128
    @Option(help: "Random seed.") var seed: UInt64 = 0
    @Option(help: "Number of samples of the prompt, generated as one batch.") var batch: Int = 1
    @Option(help: "Stop when the output contains this text (repeatable).") var stop: [String] = []
    @Option(help: "Weights sampling reads: f32, or q8_0 (8-bit copies, about a quarter of the bytes per token).")
    var samplingWeights: SamplingWeightFormat = .f32

    func validate() throws {
        guard (prompt == nil) != (prompts == nil) else { throw ValidationError("give exactly one of --prompt and --prompts") }
        guard samples > 0 else { throw ValidationError("--samples must be positive") }
        guard temperature >= 0, topP > 0, topP <= 1, topK >= 0, maxTokens > 0, batch > 0 else {
            throw ValidationError("need --temperature ≥ 0, 0 < --top-p ≤ 1, --top-k ≥ 0, --max-tokens > 0, --batch > 0")
        }
    }

    func run() throws {
        let (loaded, tokenizer) = try modelOptions.loadWithTokenizer()
        loaded.model.trainable = .none
        if samplingWeights != .f32 && loaded.model.quantizeForSampling(samplingWeights) == nil {
            FileHandle.standardError.write(Data("note: --sampling-weights \(samplingWeights.rawValue) needs AVX2/FMA; sampling from float32\n".utf8))
        }
        let parameters = SamplingParameters(temperature: temperature, topK: topK, topP: topP, maximumNewTokens: maxTokens, seed: seed)
        guard let prompt else { return try sampleFile(loaded, parameters: parameters) }
        guard let bytePair = tokenizer as? BytePairTokenizer else { throw ValidationError("streaming needs a byte-level BPE tokenizer") }
        var streamer = StreamingDecoder(tokenizer: bytePair)
        let start = ContinuousClock.now
        let completions = try loaded.generate(
            prompts: Array(repeating: prompt, count: batch), chat: chat, systemPrompt: system, parameters: parameters,
            stopStrings: stop,
            onToken: { row, token in
                guard row == 0 else { return }
                FileHandle.standardOutput.write(Data(streamer.append(token).utf8))
            })
        print(streamer.finish())
        let seconds = (ContinuousClock.now - start).seconds
        let generated = completions.reduce(0) { $0 + $1.tokens.count }
        for (row, completion) in completions.enumerated().dropFirst() {
            print("--- sample \(row + 1) ---")
            print(completion.text)
        }
        FileHandle.standardError.write(Data("""
            [\(completions[0].promptTokens.count) prompt tokens, \(generated) generated in \(String(format: "%.2f", seconds)) s: \
            \(String(format: "%.1f", Double(generated) / seconds)) tokens/s; finished: \(completions.map(\.finishReason.rawValue).joined(separator: ", "))]

            """.utf8))
    }

    /// --prompts: k samples per prompt, batched, one JSON line per response.
    func sampleFile(_ loaded: PretrainedModel, parameters: SamplingParameters) throws {
        guard let tokenizer = loaded.tokenizer, let path = prompts else { return }
        var dataset = try PromptDataset.load(path: path)
        if chat {
            for index in dataset.records.indices {
                if case let .text(text) = dataset.records[index].prompt {
                    var messages = [ChatMessage(role: "user", content: text)]
                    if let system { messages.insert(ChatMessage(role: "system", content: system), at: 0) }
                    dataset.records[index].prompt = .messages(messages)
                }
            }
        }
        let encoded = try DatasetEncoder(tokenizer: tokenizer, template: loaded.chatTemplate).encode(dataset)
        let rolloutPrompts = encoded.examples.enumerated().map { index, example in
            RolloutGenerator.Prompt(id: index, tokens: example.tokens, text: example.text, fields: example.fields)
        }
        let generator = RolloutGenerator(samplesPerPrompt: samples, sampling: parameters, stopStrings: stop, batchRows: max(batch, 16))
        let start = ContinuousClock.now
        let completions = try generator.generate(policy: loaded, prompts: rolloutPrompts)
        let seconds = (ContinuousClock.now - start).seconds
        var lines = Data()
        for completion in completions {
            var object = dataset.records[completion.group].fields.mapValues(\.foundationObject)
            object["prompt"] = Self.foundationObject(dataset.records[completion.group].prompt)
            object["completion"] = completion.text
            object["sample"] = completion.sample
            object["finish_reason"] = completion.finishReason.rawValue
            object["completion_tokens"] = completion.tokens.count
            lines += try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]) + Data("\n".utf8)
        }
        if let output { try AtomicFile.write(lines, to: output) } else { FileHandle.standardOutput.write(lines) }
        let generated = completions.reduce(0) { $0 + $1.tokens.count }
        Terminal.error("\(completions.count) responses to \(rolloutPrompts.count) prompts, \(generated) tokens in \(String(format: "%.1f", seconds)) s (\(String(format: "%.1f", Double(generated) / max(seconds, 1e-9))) tokens/s)\n")
    }

    static func foundationObject(_ text: RecordText) -> Any {
        switch text {
        case let .text(value): return value
        case let .messages(messages): return messages.map { ["role": $0.role, "content": $0.content] }
        }
    }
}
