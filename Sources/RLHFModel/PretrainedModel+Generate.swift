import RLHFTokenizer

/// Text in, text out: prompts are encoded (optionally through the chat template), sampled with
/// the KV cache, and decoded, with stop strings checked on the decoded text.
extension PretrainedModel {
    /// One generated sample.
    public struct Completion: Sendable {
        /// The prompt's token ids (after the chat template, if used).
        public var promptTokens: [Int]
        /// New token ids (a final stop token included).
        public var tokens: [Int]
        /// The decoded new text (special tokens dropped, cut before a matched stop string).
        public var text: String
        /// log q(token) under the sampling distribution, per new token.
        public var samplingLogProbs: [Float]
        /// log p(token) under the model at temperature 1, per new token.
        public var modelLogProbs: [Float]
        public var finishReason: FinishReason
    }

    /// Errors of text generation.
    public enum GenerationError: Error, CustomStringConvertible, Equatable {
        case noTokenizer
        case noChatTemplate
        case emptyPrompt(index: Int)

        public var description: String {
            switch self {
            case .noTokenizer: return "the model has no tokenizer"
            case .noChatTemplate: return "the model has no recognised chat template"
            case let .emptyPrompt(index): return "prompt \(index) encodes to no tokens"
            }
        }
    }

    /// Samples a completion for each prompt (one batch).
    ///
    /// - Parameters:
    ///   - chat: wrap each prompt as a user message in the model's chat template (with
    ///     `systemPrompt`, or the template's default) and also stop at its end-of-turn token.
    ///   - stopStrings: end a row once its decoded text contains one of these (the text is cut there).
    ///   - onToken: streaming callback with (row, token).
    /// The model's EOS id is always a stop token.
    public func generate(
        prompts: [String], chat: Bool = false, systemPrompt: String? = nil, parameters: SamplingParameters,
        stopStrings: [String] = [], onToken: ((Int, Int) -> Void)? = nil
    ) throws -> [Completion] {
        guard let tokenizer else { throw GenerationError.noTokenizer }
        var parameters = parameters
        if let eos = tokenizer.endOfSequenceTokenId { parameters.stopTokenIds.insert(eos) }
        var texts = prompts
        if chat {
            guard let template = chatTemplate else { throw GenerationError.noChatTemplate }
            texts = prompts.map { prompt in
                var messages = [ChatMessage(role: "user", content: prompt)]
                if let systemPrompt { messages.insert(ChatMessage(role: "system", content: systemPrompt), at: 0) }
                return template.render(messages, addGenerationPrompt: true)
            }
            if let endOfTurn = tokenizer.specialTokenId(template.endOfTurn) { parameters.stopTokenIds.insert(endOfTurn) }
        }
        let promptTokens = texts.map { tokenizer.encode($0) }
        if let empty = promptTokens.firstIndex(where: \.isEmpty) { throw GenerationError.emptyPrompt(index: empty) }
        let result = try model.generate(
            prompts: promptTokens, parameters: parameters,
            stopCondition: stopStrings.isEmpty ? nil : { _, tokens in
                let text = tokenizer.decode(tokens)
                return stopStrings.contains { text.contains($0) }
            },
            onToken: onToken)
        return promptTokens.indices.map { row in
            var text = tokenizer.decode(result.tokens[row])
            if let cut = stopStrings.compactMap({ text.range(of: $0)?.lowerBound }).min() { text = String(text[..<cut]) }
            return Completion(
                promptTokens: promptTokens[row], tokens: result.tokens[row], text: text,
                samplingLogProbs: result.samplingLogProbs[row], modelLogProbs: result.modelLogProbs[row],
                finishReason: result.finishReasons[row])
        }
    }
}
