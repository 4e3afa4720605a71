import Foundation
import RLHFFormats
import RLHFTokenizer

/// Which Hugging Face class a saved directory is for.
public enum HuggingFaceHead: Sendable {
    /// `LlamaForCausalLM`: the language-model head (policies, SFT models).
    case causalLanguageModel
    /// `LlamaForSequenceClassification` with `num_labels: 1`: a reward model, read at the last
    /// non-padding token by `score.weight` [1, C] (no bias).
    case sequenceClassification

    /// The `architectures` entry of `config.json`.
    public var architecture: String {
        switch self {
        case .causalLanguageModel: return "LlamaForCausalLM"
        case .sequenceClassification: return "LlamaForSequenceClassification"
        }
    }
}

extension LlamaConfiguration {
    /// The first `architectures` entry of a `config.json`, if it can be read.
    public static func architecture(inConfigJSON path: String) -> String? {
        guard let data = FileManager.default.contents(atPath: path),
              let root = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return nil }
        return (root["architectures"] as? [String])?.first
    }
}

extension PretrainedModel {
    /// Writes a Hugging Face model directory that transformers (`AutoModelForCausalLM` or
    /// `AutoModelForSequenceClassification`) and `rlhf` both load: `config.json`,
    /// `model.safetensors` (float32, Hugging Face names), `tokenizer.json`, `tokenizer_config.json`
    /// and `chat_template.jinja` when the model has a template. Every file is written atomically.
    ///
    /// For a reward model (`.sequenceClassification`) transformers reads the score at the last
    /// token that is not `pad_token_id`. When the tokenizer's padding token is also its EOS or
    /// end-of-turn token (SmolLM2: `<|im_end|>` is both), a completion ending in that token would be
    /// read one token early, so the saved padding token becomes the first special token that is
    /// neither BOS, EOS nor end-of-turn (SmolLM2: `<|endoftext|>`). swift-rlhf itself reads the
    /// score at the last real position (by length, never by token id), so both agree.
    /// `lm_head.weight` is not written for a reward model (the class has none).
    public func save(directory: String, as head: HuggingFaceHead = .causalLanguageModel) throws {
        if head == .sequenceClassification && !model.hasScalarHead { throw LlamaError.noScalarHead }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var configuration = model.configuration
        if head == .sequenceClassification { configuration.paddingTokenId = rewardPaddingTokenId ?? configuration.paddingTokenId }
        guard var config = try JSONSerialization.jsonObject(with: configuration.jsonData()) as? [String: Any] else {
            throw FormatError.invalidHeader(file: directory + "/config.json", reason: "could not encode the configuration")
        }
        config["architectures"] = [head.architecture]
        config["torch_dtype"] = "float32"
        if head == .sequenceClassification {
            config["num_labels"] = 1
            config["id2label"] = ["0": "LABEL_0"]
            config["label2id"] = ["LABEL_0": 0]
        }
        try AtomicFile.write(
            JSONSerialization.data(withJSONObject: config, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]),
            to: directory + "/config.json")
        let skipped: Set<String> = head == .sequenceClassification ? ["lm_head.weight"] : (model.hasScalarHead ? ["score.weight"] : [])
        try model.writeSafetensors(to: directory + "/model.safetensors", skipping: skipped)
        if let tokenizer = tokenizer as? BytePairTokenizer {
            try AtomicFile.write(tokenizer.tokenizerJSON(), to: directory + "/tokenizer.json")
            let padding = head == .sequenceClassification ? configuration.paddingTokenId : tokenizer.paddingTokenId
            try AtomicFile.write(
                tokenizer.tokenizerConfigJSON(
                    modelMaximumLength: configuration.maximumSequenceLength, chatTemplate: chatTemplateSource,
                    paddingTokenId: padding),
                to: directory + "/tokenizer_config.json")
        }
        if let chatTemplateSource {
            try AtomicFile.write(Data(chatTemplateSource.utf8), to: directory + "/chat_template.jinja")
        }
    }

    /// The padding token a saved reward model declares (see ``save(directory:as:)``), or nil to
    /// keep the configuration's.
    var rewardPaddingTokenId: Int? {
        guard let tokenizer = tokenizer as? BytePairTokenizer else { return nil }
        let endOfTurn = chatTemplate.flatMap { tokenizer.specialTokens[$0.endOfTurn] }
        let eos = tokenizer.endOfSequenceTokenId ?? model.configuration.endOfSequenceTokenId
        let current = tokenizer.paddingTokenId ?? model.configuration.paddingTokenId
        let reserved = Set([eos, endOfTurn, tokenizer.beginningOfSequenceTokenId].compactMap { $0 })
        if let current, !reserved.contains(current) { return current }
        return tokenizer.specialTokens.values.filter { !reserved.contains($0) }.min() ?? current
    }
}
