import Foundation

extension BytePairTokenizer {
    /// Loads a Hugging Face `tokenizer.json` (BPE model with byte-level pre-tokenization), taking
    /// BOS/EOS/PAD from a `tokenizer_config.json` beside it when present.
    ///
    /// Supported: `model.type` BPE (merges as `["a", "b"]` pairs or `"a b"` strings, `ignore_merges`,
    /// `unk_token`); normalizer none or NFC; pre-tokenizer `ByteLevel` (use_regex) → `.gpt2`,
    /// `Sequence[Digits(individual_digits), ByteLevel]` → `.starCoder`, `Sequence[Split(regex), ByteLevel]`
    /// with the Llama 3, Qwen 2 or GPT-2 expression. Every added token is matched whole in input.
    /// - Throws: ``TokenizerError`` for unreadable or malformed files and unsupported settings.
    public static func load(tokenizerJSON path: String) throws -> BytePairTokenizer {
        guard let data = FileManager.default.contents(atPath: path) else { throw TokenizerError("cannot read \(path)") }
        let json: Any
        do { json = try JSONSerialization.jsonObject(with: data) } catch {
            throw TokenizerError("\(path) is not valid JSON")
        }
        guard let root = json as? [String: Any] else { throw TokenizerError("\(path) is not a JSON object") }
        guard let model = root["model"] as? [String: Any] else { throw TokenizerError("\(path): model is missing") }
        guard (model["type"] as? String) == "BPE" else {
            throw TokenizerError("\(path): only BPE models are supported (model.type is \(model["type"] ?? "missing"))")
        }
        if (model["byte_fallback"] as? Bool) == true {
            throw TokenizerError("\(path): byte_fallback BPE (SentencePiece style) is not supported, only byte-level BPE")
        }
        for key in ["continuing_subword_prefix", "end_of_word_suffix"] {
            if let affix = model[key] as? String, !affix.isEmpty {
                throw TokenizerError("\(path): model.\(key) '\(affix)' is not supported")
            }
        }
        if let dropout = model["dropout"] as? Double, dropout > 0 {
            throw TokenizerError("\(path): BPE dropout \(dropout) is not supported")
        }
        guard let vocabularyObject = model["vocab"] as? [String: Any] else { throw TokenizerError("\(path): model.vocab is missing") }
        var vocabulary = [String: Int](minimumCapacity: vocabularyObject.count)
        for (token, value) in vocabularyObject {
            guard let id = value as? Int, id >= 0 else { throw TokenizerError("\(path): vocabulary entry \(token.debugDescription) has no valid id") }
            vocabulary[token] = id
        }
        var special = [String: Int]()
        for entry in root["added_tokens"] as? [Any] ?? [] {
            guard let added = entry as? [String: Any], let content = added["content"] as? String, let id = added["id"] as? Int, id >= 0 else {
                throw TokenizerError("\(path): malformed added token \(entry)")
            }
            special[content] = id  // added tokens are matched whole, special or not
        }
        let count = max((vocabulary.values.max() ?? -1) + 1, (special.values.max() ?? -1) + 1)
        guard count > 0, count < 10_000_000 else { throw TokenizerError("\(path): implausible vocabulary size \(count)") }
        var tokens = [String](repeating: "", count: count)
        for (token, id) in vocabulary { tokens[id] = token }
        for (token, id) in special { tokens[id] = token }
        guard let mergeEntries = model["merges"] as? [Any] else { throw TokenizerError("\(path): model.merges is missing") }
        var merges = [(String, String)]()
        merges.reserveCapacity(mergeEntries.count)
        for (index, entry) in mergeEntries.enumerated() {
            if let pair = entry as? [String], pair.count == 2 {
                merges.append((pair[0], pair[1]))
            } else if let text = entry as? String, let space = text.firstIndex(of: " ") {
                merges.append((String(text[..<space]), String(text[text.index(after: space)...])))
            } else {
                throw TokenizerError("\(path): malformed merge #\(index): \(entry)")
            }
        }
        let normalizeNFC = try normalizerIsNFC(root["normalizer"], path: path)
        let preTokenizer = try preTokenizerKind(root["pre_tokenizer"], path: path)
        let unknown = (model["unk_token"] as? String).flatMap { special[$0] ?? vocabulary[$0] }
        // Special-token roles from tokenizer_config.json, when it is there.
        let configPath = URL(fileURLWithPath: path).deletingLastPathComponent().appendingPathComponent("tokenizer_config.json").path
        var roles = [String: Int]()
        if let configData = FileManager.default.contents(atPath: configPath),
           let config = try? JSONSerialization.jsonObject(with: configData) as? [String: Any] {
            for key in ["bos_token", "eos_token", "pad_token"] {
                let content = (config[key] as? String) ?? ((config[key] as? [String: Any])?["content"] as? String)
                if let content, let id = special[content] ?? vocabulary[content] { roles[key] = id }
            }
        }
        return try BytePairTokenizer(
            tokens: tokens, merges: merges, specialTokens: special, preTokenizer: preTokenizer,
            beginningOfSequenceTokenId: roles["bos_token"], endOfSequenceTokenId: roles["eos_token"],
            paddingTokenId: roles["pad_token"], unknownTokenId: unknown,
            ignoreMerges: (model["ignore_merges"] as? Bool) ?? false, normalizeNFC: normalizeNFC)
    }

    /// The split expressions of `Split` pre-tokenizers this type reproduces.
    static let splitPatterns: [String: PreTokenizer] = [
        #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#: .llama3,
        #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#: .qwen2,
        #"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"#: .gpt2,
    ]

    /// Maps a `pre_tokenizer` section to a ``PreTokenizer``.
    static func preTokenizerKind(_ section: Any?, path: String) throws -> PreTokenizer {
        guard let section = section as? [String: Any], let type = section["type"] as? String else {
            throw TokenizerError("\(path): pre_tokenizer is missing")
        }
        let steps: [[String: Any]]
        switch type {
        case "ByteLevel": steps = [section]
        case "Sequence":
            guard let parts = section["pretokenizers"] as? [[String: Any]] else {
                throw TokenizerError("\(path): pre_tokenizer Sequence has no pretokenizers list")
            }
            steps = parts
        default:
            throw TokenizerError("\(path): unsupported pre_tokenizer type '\(type)'")
        }
        let types = steps.map { $0["type"] as? String ?? "?" }
        func byteLevel(_ step: [String: Any], useRegex: Bool) throws -> Bool {
            guard step["type"] as? String == "ByteLevel" else { return false }
            if (step["add_prefix_space"] as? Bool) == true {
                throw TokenizerError("\(path): ByteLevel add_prefix_space is not supported")
            }
            return (step["use_regex"] as? Bool ?? true) == useRegex
        }
        if steps.count == 1, try byteLevel(steps[0], useRegex: true) { return .gpt2 }
        if steps.count == 2, steps[0]["type"] as? String == "Digits", (steps[0]["individual_digits"] as? Bool) == true,
           try byteLevel(steps[1], useRegex: true) {
            return .starCoder
        }
        if steps.count == 2, steps[0]["type"] as? String == "Split", try byteLevel(steps[1], useRegex: false) {
            let pattern = (steps[0]["pattern"] as? [String: Any])?["Regex"] as? String ?? ""
            guard let kind = splitPatterns[pattern], (steps[0]["invert"] as? Bool) != true,
                  (steps[0]["behavior"] as? String ?? "Isolated") == "Isolated" else {
                throw TokenizerError("\(path): unsupported Split pre-tokenizer (pattern \(pattern.debugDescription))")
            }
            return kind
        }
        throw TokenizerError("\(path): unsupported pre_tokenizer \(type) \(types)")
    }

    /// Whether the `normalizer` section asks for NFC (nil: none).
    static func normalizerIsNFC(_ section: Any?, path: String) throws -> Bool {
        guard let section = section as? [String: Any] else { return false }  // null
        switch section["type"] as? String {
        case "NFC": return true
        case "Sequence" where (section["normalizers"] as? [Any])?.isEmpty == true: return false
        default: throw TokenizerError("\(path): unsupported normalizer \(section["type"] ?? "?")")
        }
    }
}

/// `text` in Unicode normalization form C.
func normalizedNFC(_ text: String) -> String { text.precomposedStringWithCanonicalMapping }
