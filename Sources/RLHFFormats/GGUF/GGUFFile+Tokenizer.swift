import RLHFTokenizer

extension GGUFFile {
    /// The byte-level BPE tokenizer stored in the metadata (`tokenizer.ggml.model = gpt2`), or nil
    /// when the file has none (`tokenizer.ggml.model` missing or `none`).
    ///
    /// Tokens with `token_type` 3 (control) or 4 (user-defined) are matched whole in input text.
    /// `tokenizer.ggml.pre` picks the pre-tokenizer: `smollm`; `llama-bpe`/`llama3` (Llama 3);
    /// `gpt-2`, `default` and other GPT-2-style names.
    public func tokenizer() throws -> BytePairTokenizer? {
        guard let model = self["tokenizer.ggml.model"]?.string, model != "none" else { return nil }
        guard model == "gpt2" else {
            throw FormatError.invalidHeader(file: path, reason: "tokenizer.ggml.model '\(model)' is not supported (only byte-level BPE, 'gpt2')")
        }
        guard let tokenValues = self["tokenizer.ggml.tokens"]?.array, let mergeValues = self["tokenizer.ggml.merges"]?.array else {
            throw FormatError.invalidHeader(file: path, reason: "tokenizer.ggml.tokens or tokenizer.ggml.merges is missing")
        }
        let tokens = tokenValues.map { $0.string ?? "" }
        var merges = [(String, String)]()
        merges.reserveCapacity(mergeValues.count)
        for (index, value) in mergeValues.enumerated() {
            guard let text = value.string, let space = text.firstIndex(of: " ") else {
                throw FormatError.invalidHeader(file: path, reason: "tokenizer.ggml.merges[\(index)] is not 'left right'")
            }
            merges.append((String(text[..<space]), String(text[text.index(after: space)...])))
        }
        var special = [String: Int]()
        if let types = self["tokenizer.ggml.token_type"]?.array {
            for (id, type) in types.enumerated() where id < tokens.count && (type.integer == 3 || type.integer == 4) {
                special[tokens[id]] = id
            }
        }
        let preTokenizer: PreTokenizer
        switch self["tokenizer.ggml.pre"]?.string ?? "default" {
        case "smollm": preTokenizer = .smollm
        case "llama-bpe", "llama3", "llama-v3": preTokenizer = .llama3
        case "qwen2": preTokenizer = .qwen2
        default: preTokenizer = .gpt2
        }
        func id(_ key: String) -> Int? { self["tokenizer.ggml." + key]?.integer }
        do {
            return try BytePairTokenizer(
                tokens: tokens, merges: merges, specialTokens: special, preTokenizer: preTokenizer,
                beginningOfSequenceTokenId: id("bos_token_id"), endOfSequenceTokenId: id("eos_token_id"),
                paddingTokenId: id("padding_token_id"), unknownTokenId: id("unknown_token_id"))
        } catch let error as TokenizerError {
            throw FormatError.invalidHeader(file: path, reason: error.reason)
        }
    }

    /// The chat template named by `tokenizer.chat_template`, when it is a recognised format.
    public var chatTemplate: ChatTemplate? {
        self["tokenizer.chat_template"]?.string.flatMap { ChatTemplate.detect(fromJinja: $0) }
    }
}
