import Foundation

extension BytePairTokenizer {
    /// Loads a Hugging Face `tokenizer.json` (BPE model with byte-level pre-tokenization), taking
    /// BOS/EOS/PAD from a `tokenizer_config.json` beside it when present.
    public static func load(tokenizerJSON path: String) throws -> BytePairTokenizer {
        guard let data = FileManager.default.contents(atPath: path) else { throw TokenizerError("cannot read \(path)") }
        guard let root = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw TokenizerError("\(path) is not a JSON object")
        }
        guard let model = root["model"] as? [String: Any], (model["type"] as? String) == "BPE" else {
            throw TokenizerError("\(path): only BPE models are supported (model.type is \((root["model"] as? [String: Any])?["type"] ?? "missing"))")
        }
        guard let vocabulary = model["vocab"] as? [String: Int] else { throw TokenizerError("\(path): model.vocab is missing") }
        var addedTokens = [String: Int]()
        var special = [String: Int]()
        for case let added as [String: Any] in root["added_tokens"] as? [Any] ?? [] {
            guard let content = added["content"] as? String, let id = added["id"] as? Int else { continue }
            addedTokens[content] = id
            special[content] = id  // added tokens are matched whole, special or not
        }
        let count = max((vocabulary.values.max() ?? -1) + 1, (addedTokens.values.max() ?? -1) + 1)
        guard count > 0, count < 10_000_000 else { throw TokenizerError("\(path): implausible vocabulary size \(count)") }
        var tokens = [String](repeating: "", count: count)
        for (token, id) in vocabulary where id >= 0 { tokens[id] = token }
        for (token, id) in addedTokens where id >= 0 { tokens[id] = token }
        var merges = [(String, String)]()
        for entry in model["merges"] as? [Any] ?? [] {
            if let pair = entry as? [String], pair.count == 2 {
                merges.append((pair[0], pair[1]))
            } else if let text = entry as? String, let space = text.firstIndex(of: " ") {
                merges.append((String(text[..<space]), String(text[text.index(after: space)...])))
            } else {
                throw TokenizerError("\(path): malformed merge \(entry)")
            }
        }
        let preTokenizer = try preTokenizerKind(root["pre_tokenizer"], path: path)
        // Special-token roles from tokenizer_config.json, when it is there.
        let configPath = URL(fileURLWithPath: path).deletingLastPathComponent().appendingPathComponent("tokenizer_config.json").path
        var roles = [String: Int]()
        if let configData = FileManager.default.contents(atPath: configPath),
           let config = try? JSONSerialization.jsonObject(with: configData) as? [String: Any] {
            for key in ["bos_token", "eos_token", "pad_token", "unk_token"] {
                let content = (config[key] as? String) ?? ((config[key] as? [String: Any])?["content"] as? String)
                if let content, let id = addedTokens[content] ?? vocabulary[content] { roles[key] = id }
            }
        }
        return try BytePairTokenizer(
            tokens: tokens, merges: merges, specialTokens: special, preTokenizer: preTokenizer,
            beginningOfSequenceTokenId: roles["bos_token"], endOfSequenceTokenId: roles["eos_token"],
            paddingTokenId: roles["pad_token"], unknownTokenId: roles["unk_token"])
    }

    /// Maps a `pre_tokenizer` section to a ``PreTokenizer``.
    static func preTokenizerKind(_ section: Any?, path: String) throws -> PreTokenizer {
        guard let section = section as? [String: Any], let type = section["type"] as? String else {
            throw TokenizerError("\(path): pre_tokenizer is missing")
        }
        switch type {
        case "ByteLevel":
            return .gpt2
        case "Sequence":
            let parts = section["pretokenizers"] as? [[String: Any]] ?? []
            let types = parts.compactMap { $0["type"] as? String }
            if types.contains("Digits"), parts.contains(where: { ($0["individual_digits"] as? Bool) == true }) { return .smollm }
            if let split = parts.first(where: { $0["type"] as? String == "Split" }),
               let pattern = (split["pattern"] as? [String: Any])?["Regex"] as? String, pattern.contains("\\p{N}{1,3}") {
                return .llama3
            }
            if types == ["ByteLevel"] { return .gpt2 }
            throw TokenizerError("\(path): unsupported pre_tokenizer sequence \(types)")
        default:
            throw TokenizerError("\(path): unsupported pre_tokenizer type '\(type)'")
        }
    }
}
