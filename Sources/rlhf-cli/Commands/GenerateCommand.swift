import ArgumentParser
import Foundation
import RLHF

/// `rlhf generate`: sample continuations with the KV cache, streaming the first row.
struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate", abstract: "Sample text from a model (KV cache, temperature / top-k / top-p, batched).")

    @OptionGroup var modelOptions: ModelOptions
    @Option(help: "The prompt text.") var prompt: String
    @Flag(help: "Wrap the prompt as a user message in the model's chat template.") var chat = false
    @Option(help: "System prompt for --chat (default: the template's own).") var system: String?
    @Option(help: "Sampling temperature (0: greedy).") var temperature: Float = 0.7
    @Option(help: "Keep the k most likely tokens (0: all).") var topK: Int = 0
    @Option(help: "Nucleus sampling mass.") var topP: Float = 0.95
    @Option(help: "Most new tokens.") var maxTokens: Int = 128
    @Option(help: "Random seed.") var seed: UInt64 = 0
    @Option(help: "Number of samples of the prompt, generated as one batch.") var batch: Int = 1
    @Option(help: "Stop when the output contains this text (repeatable).") var stop: [String] = []

    func validate() throws {
        guard temperature >= 0, topP > 0, topP <= 1, topK >= 0, maxTokens > 0, batch > 0 else {
            throw ValidationError("need --temperature ≥ 0, 0 < --top-p ≤ 1, --top-k ≥ 0, --max-tokens > 0, --batch > 0")
        }
    }

    func run() throws {
        let (loaded, tokenizer) = try modelOptions.loadWithTokenizer()
        let parameters = SamplingParameters(temperature: temperature, topK: topK, topP: topP, maximumNewTokens: maxTokens, seed: seed)
        var streamer = StreamingDecoder(tokenizer: tokenizer)
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
}
