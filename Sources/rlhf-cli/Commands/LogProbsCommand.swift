import ArgumentParser
import Foundation
import RLHF

/// `rlhf logprobs`: per-position token log-probabilities as JSON, for scripts and outside checks.
struct LogProbsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "logprobs", abstract: "Print each position's token id, log-prob and top-k alternatives (teacher forcing).")

    @OptionGroup var modelOptions: ModelOptions
    @Option(help: "The text to score (special-token text such as <|im_start|> is matched whole).") var text: String
    @Option(help: "Alternatives per position.") var top: Int = 5
    @Flag(help: "Print JSON (the default and only format for now).") var json = false

    struct Alternative: Encodable { let id: Int; let token: String; let logprob: Double }
    struct Position: Encodable {
        let position: Int
        let id: Int
        let token: String
        /// log p(token | previous tokens); null at position 0.
        let logprob: Double?
        /// The most likely next tokens after this position.
        let top: [Alternative]

        enum CodingKeys: String, CodingKey { case position, id, token, logprob, top }

        /// Writes `logprob: null` at position 0 rather than omitting the key.
        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(position, forKey: .position)
            try container.encode(id, forKey: .id)
            try container.encode(token, forKey: .token)
            try container.encode(logprob, forKey: .logprob)
            try container.encode(top, forKey: .top)
        }
    }
    struct Output: Encodable { let model: String; let tokens: [Position]; let sequence_logprob: Double }

    func run() throws {
        let (loaded, tokenizer) = try modelOptions.loadWithTokenizer()
        let ids = tokenizer.encode(text)
        guard !ids.isEmpty else { throw ValidationError("the text encodes to no tokens") }
        let batch = TokenBatch(rows: [ids])
        let logProbs = try loaded.model.forward(batch).tokenLogProbs
        let logits = try loaded.model.logits(for: batch)
        let V = loaded.model.configuration.vocabularySize
        var positions = [Position]()
        for (t, id) in ids.enumerated() {
            let row = Array(logits[(t * V)..<((t + 1) * V)])
            let maximum = row.max() ?? 0
            let logSumExp = Double(maximum) + Foundation.log(row.reduce(0.0) { $0 + Foundation.exp(Double($1 - maximum)) })
            let best = row.indices.sorted { row[$0] > row[$1] }.prefix(top)
            positions.append(Position(
                position: t, id: id, token: tokenizer.decode([id], skipSpecialTokens: false),
                logprob: t == 0 ? nil : Double(logProbs[t]),
                top: best.map { Alternative(id: $0, token: tokenizer.decode([$0], skipSpecialTokens: false), logprob: Double(row[$0]) - logSumExp) }))
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let output = Output(model: modelOptions.model, tokens: positions, sequence_logprob: logProbs.reduce(0.0) { $0 + Double($1) })
        print(String(decoding: try encoder.encode(output), as: UTF8.self))
    }
}
