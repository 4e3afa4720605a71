import ArgumentParser
import RLHF

/// Where the data comes from and how it is cut.
struct DataOptions: ParsableArguments {
    @Option(help: "A JSONL file in one of TRL's dataset formats.")
    var data: String

    @Option(help: "Fraction of the records held out for evaluation (a seeded split); ignored with --eval-data.")
    var evalFraction: Double = 0.1

    @Option(help: "A separate JSONL file of held-out records (TRL eval_dataset), instead of a split of --data.")
    var evalData: String?

    @Option(help: "Keep only the last N tokens of each prompt (TRL max_prompt_length).")
    var maxPromptTokens: Int?

    @Option(help: "Cut prompt + completion to N tokens: the completion's end first (TRL max_length).")
    var maxLength: Int?

    var truncation: TruncationPolicy { TruncationPolicy(maxPromptTokens: maxPromptTokens, maxLength: maxLength) }

    /// ``split(_:fraction:seed:)`` with `--eval-fraction`.
    func split<Example>(_ examples: [Example], seed: UInt64) -> (training: [Example], heldOut: [Example]) {
        Self.split(examples, fraction: evalFraction, seed: seed)
    }

    /// A seeded split: (training, held out), the held-out share `fraction` of the examples (at
    /// least one when the fraction is positive and there are two or more), both in file order.
    static func split<Example>(_ examples: [Example], fraction evalFraction: Double, seed: UInt64) -> (training: [Example], heldOut: [Example]) {
        var order = Array(examples.indices)
        var generator = SeededGenerator(seed: seed ^ 0x5EED_5EED)
        order.shuffle(using: &generator)
        var count = Int((evalFraction * Double(examples.count)).rounded())
        if evalFraction > 0 && examples.count >= 2 { count = max(1, count) }
        let heldOut = Set(order.prefix(count))
        return (examples.indices.filter { !heldOut.contains($0) }.map { examples[$0] }, order.prefix(count).sorted().map { examples[$0] })
    }

    func validate() throws {
        guard (0..<1).contains(evalFraction) else { throw ValidationError("--eval-fraction must be in [0, 1)") }
        if let maxPromptTokens, maxPromptTokens <= 0 { throw ValidationError("--max-prompt-tokens must be positive") }
        if let maxLength, maxLength <= 1 { throw ValidationError("--max-length must be at least 2") }
    }
}
