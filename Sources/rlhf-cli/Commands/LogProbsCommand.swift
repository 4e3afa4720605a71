import ArgumentParser
import Foundation
import RLHF

/// `rlhf logprobs`: per-position token log-probabilities as JSON, for scripts and outside checks.
struct LogProbsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "logprobs", abstract: "Print each position's token id, log-prob and top-k alternatives (teacher forcing).",
        discussion: "For a reward model (LlamaForSequenceClassification), also its score at the last token.")

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
    struct Output: Encodable { let model: String; let tokens: [Position]; let sequence_logprob: Double; let score: Double? }

    func run() throws {
        let (loaded, tokenizer) = try modelOptions.loadWithTokenizer()
        let ids = tokenizer.encode(text)
        guard !ids.isEmpty else { throw ValidationError("the text encodes to no tokens") }
        let report = try loaded.model.logProbReport(tokens: ids, top: top)
        func token(_ id: Int) -> String { tokenizer.decode([id], skipSpecialTokens: false) }
        let positions = report.positions.enumerated().map { t, position in
            Position(position: t, id: position.id, token: token(position.id), logprob: position.logProb,
                     top: position.alternatives.map { Alternative(id: $0.id, token: token($0.id), logprob: $0.logProb) })
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let output = Output(model: modelOptions.model, tokens: positions, sequence_logprob: report.sequenceLogProb, score: report.score)
        print(String(decoding: try encoder.encode(output), as: UTF8.self))
    }
}
