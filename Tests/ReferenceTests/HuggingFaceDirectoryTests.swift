import Foundation
import RLHFFormats
import RLHFModel
import RLHFTokenizer
import Testing
import _RLHFTestSupport

/// SmolLM2 saved as Hugging Face directories (`LlamaForCausalLM` and, with a scalar head,
/// `LlamaForSequenceClassification`) and loaded back: identical outputs, the config fields
/// transformers needs, and a `tokenizer.json` that tokenizes as the original.
@Suite("Hugging Face model directories", .serialized)
struct HuggingFaceDirectoryTests {
    static func temporaryDirectory(_ name: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("rlhf-hf-\(name)-\(getpid())").path
    }

    static func config(_ directory: String) throws -> [String: Any] {
        let data = try Data(contentsOf: URL(fileURLWithPath: directory + "/config.json"))
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    static let batch = TokenBatch(rows: [[1, 4093, 28, 1115, 359, 346, 47], [1, 9690, 198, 19556, 2]], paddingToken: 2)

    @Test("a reward model saves as LlamaForSequenceClassification and reloads with identical scores")
    func rewardModelRoundTrip() throws {
        let original = try PretrainedModel.load(path: ReferencePaths.smolLM2GGUF, scalarHead: true)
        original.model.initializeScalarHead(seed: 7)
        let directory = Self.temporaryDirectory("reward")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try original.save(directory: directory, as: .sequenceClassification)

        let config = try Self.config(directory)
        #expect(config["architectures"] as? [String] == ["LlamaForSequenceClassification"])
        #expect(config["num_labels"] as? Int == 1)
        #expect(config["model_type"] as? String == "llama")
        // pad == eos (<|im_end|>) in SmolLM2; the saved reward model pads with <|endoftext|>.
        #expect(config["pad_token_id"] as? Int == 0)
        let weights = try SafetensorsFile(path: directory + "/model.safetensors")
        #expect(weights.info("score.weight")?.shape == [1, 576])
        #expect(weights.info("score.bias") == nil && weights.info("lm_head.weight") == nil)
        for file in ["tokenizer.json", "tokenizer_config.json", "chat_template.jinja"] {
            #expect(FileManager.default.fileExists(atPath: directory + "/" + file), "\(file)")
        }

        let reloaded = try PretrainedModel.load(path: directory)
        #expect(reloaded.architecture == "LlamaForSequenceClassification" && reloaded.model.hasScalarHead)
        let before = try original.model.forward(Self.batch, values: true), after = try reloaded.model.forward(Self.batch, values: true)
        #expect(before.values == after.values)
        #expect(before.tokenLogProbs == after.tokenLogProbs)
        #expect(reloaded.chatTemplate == original.chatTemplate)
    }

    @Test("a policy saves as LlamaForCausalLM with tokenizer and template, and reloads identically")
    func policyRoundTrip() throws {
        let original = try PretrainedModel.load(path: ReferencePaths.smolLM2GGUF)
        let directory = Self.temporaryDirectory("policy")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try original.save(directory: directory)
        let config = try Self.config(directory)
        #expect(config["architectures"] as? [String] == ["LlamaForCausalLM"])
        #expect(config["pad_token_id"] as? Int == 2)
        let reloaded = try PretrainedModel.load(path: directory)
        #expect(try original.model.forward(Self.batch).tokenLogProbs == reloaded.model.forward(Self.batch).tokenLogProbs)
        #expect(reloaded.chatTemplateSource == original.chatTemplateSource && reloaded.chatTemplate != nil)

        // The written tokenizer.json is the original tokenizer.
        let tokenizer = try #require(reloaded.tokenizer as? BytePairTokenizer), source = try #require(original.tokenizer as? BytePairTokenizer)
        #expect(tokenizer.preTokenizer == source.preTokenizer && tokenizer.vocabularySize == source.vocabularySize)
        #expect(tokenizer.endOfSequenceTokenId == 2 && tokenizer.beginningOfSequenceTokenId == 1 && tokenizer.paddingTokenId == 2)
        let fixture = try TokenizerDifferentialTests.fixture.get()
        for text in fixture.texts.prefix(500) {
            #expect(tokenizer.encode(text) == source.encode(text), "\(text.debugDescription)")
        }
    }

    @Test("tokenizer.json is written for every pre-tokenization and reads back the same")
    func tokenizerJSONForEveryKind() throws {
        let file = try GGUFFile(path: ReferencePaths.smolLM2GGUF)
        let fixture = try TokenizerDifferentialTests.fixture.get()
        let directory = Self.temporaryDirectory("tokenizers")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        for kind in TokenizerDifferentialTests.kinds {
            let tokenizer = try #require(try file.tokenizer(preTokenizerName: kind.gguf))
            let path = directory + "/\(kind.gguf).json"
            try tokenizer.tokenizerJSON().write(to: URL(fileURLWithPath: path))
            let reloaded = try BytePairTokenizer.load(tokenizerJSON: path)
            #expect(reloaded.preTokenizer == tokenizer.preTokenizer && reloaded.ignoresMerges == tokenizer.ignoresMerges
                    && reloaded.normalizesNFC == tokenizer.normalizesNFC)
            try TokenizerDifferentialTests.compare(reloaded, fixture, column: kind.column, path: "written \(kind.gguf)")
        }
    }
}
