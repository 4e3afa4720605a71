import Foundation

extension BytePairTokenizer {
    /// This tokenizer as a Hugging Face `tokenizer.json` (BPE model, byte-level pre-tokenization
    /// spelled as the model family ships it), which `tokenizers`, transformers and
    /// ``load(tokenizerJSON:)`` read back to the same ids.
    public func tokenizerJSON() throws -> Data {
        let byteLevelWithRegex: [String: Any] = ["type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true]
        let byteLevelAlone: [String: Any] = ["type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": false]
        func split(_ kind: PreTokenizer) -> [String: Any] {
            let pattern = Self.splitPatterns.first { $0.value == kind }!.key
            return ["type": "Sequence", "pretokenizers": [
                ["type": "Split", "pattern": ["Regex": pattern], "behavior": "Isolated", "invert": false], byteLevelAlone,
            ]]
        }
        let preTokenizerSection: [String: Any]
        switch preTokenizer {
        case .gpt2: preTokenizerSection = byteLevelWithRegex
        case .llama3, .qwen2: preTokenizerSection = split(preTokenizer)
        case .starCoder:
            preTokenizerSection = ["type": "Sequence", "pretokenizers": [["type": "Digits", "individual_digits": true], byteLevelWithRegex]]
        }
        var vocabulary = [String: Int](minimumCapacity: tokens.count)
        for (id, token) in tokens.enumerated() where vocabulary[token] == nil { vocabulary[token] = id }
        let added: [[String: Any]] = specialTokens.sorted { $0.value < $1.value }.map { content, id in
            ["id": id, "content": content, "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true]
        }
        let model: [String: Any] = [
            "type": "BPE", "dropout": NSNull(), "unk_token": unknownTokenId.map { tokens[$0] as Any } ?? NSNull(),
            "continuing_subword_prefix": NSNull(), "end_of_word_suffix": NSNull(), "fuse_unk": false, "byte_fallback": false,
            "ignore_merges": ignoresMerges, "vocab": vocabulary, "merges": mergeRules,
        ]
        let root: [String: Any] = [
            "version": "1.0", "truncation": NSNull(), "padding": NSNull(), "added_tokens": added,
            "normalizer": normalizesNFC ? ["type": "NFC"] : NSNull(), "pre_tokenizer": preTokenizerSection,
            "post_processor": NSNull(),
            "decoder": ["type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true],
            "model": model,
        ]
        return try JSONSerialization.data(withJSONObject: root, options: [.sortedKeys, .withoutEscapingSlashes])
    }

    /// A `tokenizer_config.json` naming the special-token roles (BOS, EOS, PAD — `paddingTokenId`
    /// when given, else this tokenizer's — and UNK), the context length, and the chat template
    /// when given.
    public func tokenizerConfigJSON(modelMaximumLength: Int, chatTemplate: String?, paddingTokenId: Int? = nil) throws -> Data {
        var config: [String: Any] = [
            "tokenizer_class": "PreTrainedTokenizerFast", "clean_up_tokenization_spaces": false,
            "model_max_length": modelMaximumLength, "add_bos_token": false, "add_eos_token": false,
        ]
        func role(_ key: String, _ id: Int?) { if let id, id >= 0, id < tokens.count { config[key] = tokens[id] } }
        role("bos_token", beginningOfSequenceTokenId)
        role("eos_token", endOfSequenceTokenId)
        role("pad_token", paddingTokenId ?? self.paddingTokenId)
        role("unk_token", unknownTokenId)
        if let chatTemplate { config["chat_template"] = chatTemplate }
        return try JSONSerialization.data(withJSONObject: config, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
    }
}
