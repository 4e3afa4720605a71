import RLHFModel
import RLHFTokenizer

/// A Bradley–Terry reward model as a ``RewardSource``: a Llama with a scalar head
/// (`LlamaForSequenceClassification`), read at the last real token of prompt + response.
///
/// Inputs are re-encoded when the reward model's tokenizer is not the policy's (`prompt` and
/// `response` text through this model's tokenizer); otherwise their tokens are used as they are.
/// A response that does not end with the end token (the chat template's end-of-turn token, else
/// EOS) gets one appended before scoring, as the completions it was trained on end with it (the
/// P3O authors' code appends EOS before re-tokenisation the same way).
public final class RewardModel: RewardSource, @unchecked Sendable {
    public let pretrained: PretrainedModel
    public let name: String
    /// Rows per forward pass.
    public var batchSize: Int
    /// Token appended to responses that lack it; nil when the model has no EOS.
    public let endToken: Int?
    /// Whether the policy's token ids can be used as they are (same vocabulary, same tokenizer).
    public var sharesTokenizerWithPolicy: Bool

    /// - Throws: ``LlamaError/noScalarHead`` when the model has no scalar head.
    public init(_ pretrained: PretrainedModel, name: String = "reward-model", batchSize: Int = 16, sharesTokenizerWithPolicy: Bool = true) throws {
        guard pretrained.model.hasScalarHead else { throw LlamaError.noScalarHead }
        self.pretrained = pretrained
        self.name = name
        self.batchSize = max(1, batchSize)
        self.sharesTokenizerWithPolicy = sharesTokenizerWithPolicy
        endToken = Self.endToken(of: pretrained)
    }

    /// The chat template's end-of-turn id, else the tokenizer's (or configuration's) EOS.
    public static func endToken(of pretrained: PretrainedModel) -> Int? {
        if let template = pretrained.chatTemplate, let id = pretrained.tokenizer?.specialTokenId(template.endOfTurn) { return id }
        return pretrained.tokenizer?.endOfSequenceTokenId ?? pretrained.model.configuration.endOfSequenceTokenId
    }

    public func scores(for inputs: [RewardInput]) throws -> [Double] {
        let (prompts, responses) = try tokens(for: inputs)
        return try score(prompts: prompts, responses: responses).map(Double.init)
    }

    /// The prompt and response tokens this model scores for `inputs` (re-encoded when the
    /// tokenizer is not the policy's).
    func tokens(for inputs: [RewardInput]) throws -> (prompts: [[Int]], responses: [[Int]]) {
        var prompts = [[Int]](), responses = [[Int]]()
        prompts.reserveCapacity(inputs.count)
        responses.reserveCapacity(inputs.count)
        for (index, input) in inputs.enumerated() {
            var prompt = input.promptTokens, response = input.responseTokens
            if !sharesTokenizerWithPolicy || (prompt.isEmpty && response.isEmpty) {
                guard let tokenizer = pretrained.tokenizer else {
                    throw RewardError(source: name, reason: "response \(index + 1) of \(inputs.count): the reward model has no tokenizer to encode text with")
                }
                prompt = tokenizer.encode(input.prompt)
                response = tokenizer.encode(input.response)
            }
            responses.append(response)
            prompts.append(prompt)
        }
        return (prompts, responses)
    }

    /// Prompt + response rows, the end token appended to responses that lack it.
    func spans(prompts: [[Int]], responses: [[Int]]) -> ResponseSpans {
        ResponseSpans(prompts: prompts, responses: responses, paddingToken: pretrained.model.configuration.paddingTokenId ?? 0,
                      endToken: endToken)
    }

    /// Scores of prompt + response token rows (the end token appended where missing).
    public func score(prompts: [[Int]], responses: [[Int]]) throws -> [Float] {
        precondition(prompts.count == responses.count, "one response per prompt")
        let model = pretrained.model
        var result = [Float]()
        result.reserveCapacity(prompts.count)
        var start = 0
        while start < prompts.count {
            let end = min(prompts.count, start + batchSize)
            let spans = spans(prompts: Array(prompts[start..<end]), responses: Array(responses[start..<end]))
            let output = try model.forward(spans.batch, tokenLogProbs: false, values: true)
            result += spans.last(output.values)
            start = end
        }
        return result
    }
}
