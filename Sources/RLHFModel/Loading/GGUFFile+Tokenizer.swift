import RLHFFormats
import RLHFTokenizer

extension GGUFFile {
    /// The byte-level BPE tokenizer stored in the metadata (`tokenizer.ggml.model = gpt2`), or nil
    /// when the file has none (`tokenizer.ggml.model` missing or `none`).
    ///
    /// Tokens with `token_type` 3 (control) or 4 (user-defined) are matched whole in input text.
    /// `tokenizer.ggml.pre` picks the pre-tokenization of the model family's own Hugging Face
    /// tokenizer (``GGUFPreTokenization``; where llama.cpp differs, Hugging Face is followed).
    /// - Parameter preTokenizerName: used instead of `tokenizer.ggml.pre` when given (for a file
    ///   whose metadata names the wrong one).
    public func tokenizer(preTokenizerName: String? = nil) throws -> BytePairTokenizer? {
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
        let settings = GGUFPreTokenization(ggufName: preTokenizerName ?? self["tokenizer.ggml.pre"]?.string)
        func id(_ key: String) -> Int? { self["tokenizer.ggml." + key]?.integer }
        do {
            return try BytePairTokenizer(
                tokens: tokens, merges: merges, specialTokens: special, preTokenizer: settings.preTokenizer,
                beginningOfSequenceTokenId: id("bos_token_id"), endOfSequenceTokenId: id("eos_token_id"),
                paddingTokenId: id("padding_token_id"), unknownTokenId: id("unknown_token_id"),
                ignoreMerges: settings.ignoresMerges, normalizeNFC: settings.normalizesNFC)
        } catch let error as TokenizerError {
            throw FormatError.invalidHeader(file: path, reason: error.reason)
        }
    }

    /// The chat template named by `tokenizer.chat_template`, when it is a recognised format.
    public var chatTemplate: ChatTemplate? {
        self["tokenizer.chat_template"]?.string.flatMap { ChatTemplate.detect(fromJinja: $0) }
    }
}
