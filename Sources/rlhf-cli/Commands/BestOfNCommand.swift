import ArgumentParser
import Foundation
import RLHF

/// `rlhf best-of-n`: n samples per prompt, keep the one the reward scores highest.
struct BestOfNCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "best-of-n",
        abstract: "Best-of-n sampling: n responses per prompt, the highest-scored kept, with its KL bound.",
        discussion: """
            Writes one JSON object per prompt to --output: the record's fields, "prompt", \
            "completion" (the best response), "reward", "n", "rank_rewards" (all n scores). Prints \
            the mean reward of one sample and of the best of n, the unbiased best-of-m estimate \
            (Nakano et al.) for m = 1, 2, 4, … ≤ n from the same samples, and the KL bound \
            log n − (n − 1)/n nats of best-of-n from the sampling policy (Stiennon et al.; exact \
            without reward ties).
            """)

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var rewardOptions: RewardOptions
    @OptionGroup var sampling: SamplingOptions

    @Option(help: "A JSONL prompt file (\"prompt\" as a string or chat messages).") var prompts: String
    @Option(name: .customShort("n"), help: "Samples per prompt.") var n: Int = 8
    @Option(help: "JSONL output file (default: standard output).") var output: String?
    @Option(help: "Random seed.") var seed: UInt64 = 0
    @Flag(help: "Use prompts as plain text even when the model has a chat template.") var noChat = false

    func validate() throws {
        guard n >= 1 else { throw ValidationError("-n must be at least 1") }
    }

    func run() throws {
        let loaded = try modelOptions.load()
        let promptList = try PromptLoading.load(path: prompts, model: loaded, chat: !noChat)
        guard !promptList.isEmpty else { throw ValidationError("\(prompts): no prompts") }
        let reward = try rewardOptions.make(policy: loaded)
        let start = ContinuousClock.now
        let completions = try sampling.generator(samplesPerPrompt: n, seed: seed).generate(policy: loaded, prompts: promptList)
        let scores = try reward.checkedScores(for: completions.map(\.rewardInput))
        let best = BestOfN.select(scores: scores, groupSize: n)
        var lines = Data()
        for (group, index) in best.enumerated() {
            var object = completions[index].prompt.fields.mapValues(\.foundationObject)
            object["prompt"] = completions[index].prompt.text
            object["completion"] = completions[index].text
            object["reward"] = scores[index]
            object["n"] = n
            object["rank_rewards"] = Array(scores[(group * n)..<((group + 1) * n)])
            lines += try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]) + Data("\n".utf8)
        }
        if let output { try AtomicFile.write(lines, to: output) } else { FileHandle.standardOutput.write(lines) }
        let mean = scores.reduce(0, +) / Double(scores.count)
        let bestMean = best.reduce(0) { $0 + scores[$1] } / Double(best.count)
        var curve = [String]()
        var m = 1
        while m <= n {
            let estimate = BestOfN.unbiasedEstimate(proxy: scores, gold: scores, n: m, groupSize: n)
            curve.append("m=\(m): \(String(format: "%.4f", estimate)) (KL ≤ \(String(format: "%.3f", BestOfN.klBound(n: m))))")
            m *= 2
        }
        Terminal.error("""
            \(promptList.count) prompts × \(n) samples in \(String(format: "%.1f", (ContinuousClock.now - start).seconds)) s; reward \(reward.name)
            mean reward of one sample \(String(format: "%.4f", mean)); of the best of \(n): \(String(format: "%.4f", bestMean)); KL(best-of-\(n) ‖ policy) ≤ \(String(format: "%.4f", BestOfN.klBound(n: n))) nats
            best-of-m from the same samples (unbiased estimator): \(curve.joined(separator: ", "))

            """)
    }
}
