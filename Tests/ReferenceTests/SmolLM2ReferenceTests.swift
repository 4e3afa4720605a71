import Foundation
import RLHFFormats
import RLHFModel
import RLHFTokenizer
import RLHFTraining
import Testing
import _RLHFTestSupport

/// The real pretrained SmolLM2-135M-Instruct (Q4_1 GGUF, dequantized to float32) against
/// `../shared/reference/smollm2-135m-instruct.json` (transformers, float32).
/// The model comes from `scripts/fetch-smollm2.sh`, which the test command runs first.
@Suite("SmolLM2-135M-Instruct vs transformers", .serialized)
struct SmolLM2ReferenceTests {
    static let reference: SmolLM2Reference? = try? SmolLM2Reference.load()

    /// Loaded once for the suite (tests run one at a time).
    static let model: LlamaModel? = try? LlamaModel(gguf: GGUFFile(path: ReferencePaths.smolLM2GGUF))

    static func require() throws -> (LlamaModel, SmolLM2Reference) {
        let model = try #require(Self.model, "SmolLM2 not found at \(ReferencePaths.smolLM2GGUF): run scripts/fetch-smollm2.sh")
        return (model, try #require(Self.reference))
    }

    @Test func architectureFromMetadata() throws {
        let (model, _) = try Self.require()
        let c = model.configuration
        #expect(c.vocabularySize == 49152 && c.hiddenSize == 576 && c.intermediateSize == 1536 && c.blockCount == 30)
        #expect(c.attentionHeadCount == 9 && c.keyValueHeadCount == 3 && c.headDimension == 64 && c.tiedEmbeddings)
        #expect(c.ropeTheta == 100_000 && c.rmsNormEpsilon == 1e-5)
        #expect(c.beginningOfSequenceTokenId == 1 && c.endOfSequenceTokenId == 2)
    }

    @Test("next-token log-probs within 0.01 and identical top-1 at every position")
    func logits() throws {
        let (model, reference) = try Self.require()
        let V = model.configuration.vocabularySize
        var worst = 0.0
        for example in reference.logits {
            let batch = TokenBatch(rows: [example.ids])
            let logProbs = try model.forward(batch).tokenLogProbs
            for (t, expected) in example.next_token_logprobs.enumerated() {
                worst = max(worst, abs(Double(logProbs[t + 1]) - expected))
            }
            let sequence = logProbs.reduce(0.0) { $0 + Double($1) }
            #expect(abs(sequence - example.sequence_logprob) < 0.05, "\(example.text): sequence log-prob \(sequence)")
            let logits = try model.logits(for: batch)
            for (t, position) in example.positions.enumerated() {
                let row = logits[(t * V)..<((t + 1) * V)]
                let best = row.indices.max { row[$0] < row[$1] }! - row.startIndex
                #expect(best == Int(position.top10[0][0]), "\(example.text): top-1 at position \(t)")
            }
        }
        #expect(worst < 0.01, "largest next-token log-prob difference \(worst)")
    }

    @Test("greedy continuations through the KV cache are identical (batched, different prompt lengths)")
    func greedy() throws {
        let (model, reference) = try Self.require()
        let result = try model.generate(
            prompts: reference.greedy.map(\.prompt_ids), parameters: .greedy(maximumNewTokens: 24, stopTokenIds: [2]))
        for (b, example) in reference.greedy.enumerated() {
            #expect(result.tokens[b] == example.new_ids)
        }
    }

    @Test("text generation: chat template, EOS, stop strings, decoded text")
    func textGeneration() throws {
        let (model, _) = try Self.require()
        let file = try GGUFFile(path: ReferencePaths.smolLM2GGUF)
        let pretrained = PretrainedModel(model: model, tokenizer: try file.tokenizer(), chatTemplate: file.chatTemplate)
        let greedy = SamplingParameters.greedy(maximumNewTokens: 24)
        let answer = try pretrained.generate(prompts: ["What is 2+2?"], chat: true, parameters: greedy)[0]
        #expect(answer.text == "The answer to this classic math problem is 4.")
        #expect(answer.finishReason == .stopToken && answer.tokens.last == 2)
        #expect(answer.modelLogProbs.count == answer.tokens.count)
        let cut = try pretrained.generate(prompts: ["What is 2+2?"], chat: true, parameters: greedy, stopStrings: ["classic"])[0]
        #expect(cut.text == "The answer to this ")
        #expect(cut.finishReason == .stopCondition)
    }

    @Test("loss and every parameter's gradient norm within 1e-2 relative")
    func gradientNorms() throws {
        let (model, reference) = try Self.require()
        let batch = TokenBatch(rows: [reference.gradient.ids])
        let output = try model.forward(batch, retainForBackward: true)
        let (loss, gradient) = LanguageModelingLoss.mean(logProbs: output.tokenLogProbs, batch: batch)
        #expect(abs(loss - reference.gradient.loss) < 1e-2)
        model.zeroGradients()
        try model.backward(tokenLogProbGradients: gradient)
        #expect(reference.gradient.grad_l2_norm_by_hf_name.count == model.layout.entries.count)
        for entry in model.layout.entries {
            let expected = try #require(reference.gradient.grad_l2_norm_by_hf_name[entry.name], "\(entry.name)")
            let values = model.gradient(named: entry.name)!
            let norm = values.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
            #expect(abs(norm - expected) <= 1e-2 * expected, "\(entry.name): \(norm) vs \(expected)")
        }
    }
}

/// The tokenizer and chat template read from the GGUF metadata.
@Suite("SmolLM2 tokenizer from GGUF metadata")
struct SmolLM2TokenizerTests {
    @Test func tokenizationAndChatTemplateMatch() throws {
        let reference = try SmolLM2Reference.load()
        let file = try GGUFFile(path: ReferencePaths.smolLM2GGUF)
        let tokenizer = try #require(try file.tokenizer())
        #expect(tokenizer.preTokenizer == .gpt2 && !tokenizer.ignoresMerges && !tokenizer.normalizesNFC)
        #expect(tokenizer.beginningOfSequenceTokenId == 1 && tokenizer.endOfSequenceTokenId == 2)
        for example in reference.tokenize {
            #expect(tokenizer.encode(example.text) == example.ids, "\(example.text.debugDescription)")
            #expect(tokenizer.decode(example.ids, skipSpecialTokens: false) == example.text)
        }
        let template = try #require(file.chatTemplate)
        for example in reference.chat_template {
            let rendered = template.render(example.messages, addGenerationPrompt: true)
            #expect(rendered == example.rendered)
            #expect(tokenizer.encode(rendered) == example.ids)
        }
    }
}
