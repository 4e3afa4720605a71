import ArgumentParser
import Foundation
import RLHF

/// `rlhf evaluate`: reward, KL to a reference, length, EOS and win rate of a policy.
struct EvaluateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate",
        abstract: "Measure a policy on prompts: reward, KL to a reference, length, missing EOS, win rate.",
        discussion: """
            Samples --samples responses per prompt of --prompts (TRL's prompt-only JSONL) from \
            --model and scores them with --reward. With --reference, reports the KL of the policy \
            from it on those samples (nats per sequence: k1 = Σ log π/π_ref and k3 = Σ (ρ − 1 − log ρ)). \
            With --versus, samples that policy on the same prompts (its own random stream) and \
            reports the win rate of --model under the reward (ties count ½).
            """)

    @OptionGroup var modelOptions: ModelOptions
    @Option(help: "A JSONL prompt file (\"prompt\" as a string or messages; other fields go to the reward).")
    var prompts: String
    @OptionGroup var rewardOptions: RewardOptions
    @Option(help: "Reference model for the KL (a .gguf file or a Hugging Face directory).") var reference: String?
    @Option(help: "Another policy to compute the win rate against.") var versus: String?
    @Option(help: "Responses per prompt.") var samples: Int = 1
    @Flag(help: "Wrap plain-string prompts as a user message in the chat template.") var chat = false
    @OptionGroup var sampling: SamplingOptions
    @Option(help: "Random seed.") var seed: UInt64 = 0
    @Option(help: "Write the whole report as JSON to this file.") var json: String?

    func validate() throws {
        guard samples > 0 else { throw ValidationError("--samples must be positive") }
    }

    func run() throws {
        let policy = try modelOptions.load()
        let reward = try rewardOptions.make(policy: policy)
        let reference = try self.reference.map { try ModelOptions.load(path: $0) }
        let versus = try self.versus.map { try ModelOptions.load(path: $0) }
        let prompts = try PromptLoading.load(path: self.prompts, model: policy, chat: chat)
        let start = ContinuousClock.now
        let report = try PolicyEvaluation.run(
            policy: policy, prompts: prompts, reward: reward, reference: reference, versus: versus,
            generator: sampling.generator(samplesPerPrompt: samples, seed: seed))
        let seconds = (ContinuousClock.now - start).seconds
        func f(_ value: Double?) -> String { value.map { String(format: "%.4f", $0) } ?? "n/a" }
        print("prompts:         \(report.prompts), \(report.samples) responses (\(String(format: "%.1f", seconds)) s)")
        print("reward:          \(f(report.rewardMean)) ± \(f(report.rewardStd))  [\(report.reward)]")
        print("KL to reference: k1 \(f(report.klK1)), k3 \(f(report.klK3)) nats per sequence")
        print("length:          \(String(format: "%.1f", report.meanLength)) tokens, \(String(format: "%.1f", 100 * report.shareWithoutEOS))% without EOS")
        if let winRate = report.winRate {
            print("win rate:        \(f(winRate)) against \(self.versus ?? "") (its reward \(f(report.versusRewardMean)))")
        }
        for (index, sample) in report.examples.enumerated() {
            print("--- sample \(index + 1) (reward \(f(sample.reward))) ---")
            print(sample.response)
        }
        if let json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            encoder.keyEncodingStrategy = .convertToSnakeCase
            try AtomicFile.write(encoder.encode(report), to: json)
        }
    }
}
