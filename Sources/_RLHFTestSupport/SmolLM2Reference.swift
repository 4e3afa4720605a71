import Foundation
import RLHFTokenizer

/// `../shared/reference/smollm2-135m-instruct.json`: transformers' outputs for SmolLM2-135M-Instruct.
public struct SmolLM2Reference: Decodable, Sendable {
    public struct TokenizeCase: Decodable, Sendable { public let text: String; public let ids: [Int] }
    public struct ChatCase: Decodable, Sendable { public let messages: [ChatMessage]; public let rendered: String; public let ids: [Int] }
    public struct Position: Decodable, Sendable { public let logsumexp: Double; public let top10: [[Double]] }
    public struct LogitsCase: Decodable, Sendable {
        public let text: String
        public let ids: [Int]
        public let positions: [Position]
        public let next_token_logprobs: [Double]
        public let sequence_logprob: Double
    }
    public struct GreedyCase: Decodable, Sendable { public let prompt_ids: [Int]; public let new_ids: [Int] }
    public struct Gradient: Decodable, Sendable { public let ids: [Int]; public let loss: Double; public let grad_l2_norm_by_hf_name: [String: Double] }

    public let tokenize: [TokenizeCase]
    public let chat_template: [ChatCase]
    public let logits: [LogitsCase]
    public let greedy: [GreedyCase]
    public let gradient: Gradient

    /// Reads the reference file.
    public static func load() throws -> SmolLM2Reference {
        try JSONDecoder().decode(
            SmolLM2Reference.self, from: Data(contentsOf: URL(fileURLWithPath: ReferencePaths.reference + "/smollm2-135m-instruct.json")))
    }
}
