import Foundation
import RLHFFormats
import RLHFTokenizer
import Testing
import _RLHFTestSupport

/// Thousands of seeded random texts (whitespace runs of every kind before digits, letters and
/// punctuation, CRLF, tabs, letters and digits of many scripts, combining marks, emoji, special
/// tokens, code) tokenized through both loading paths and compared with Hugging Face `tokenizers`
/// (`Tests/Fixtures/tokenizer-differential.json`, written by `tools/make_tokenizer_fixtures.py`).
///
/// The vocabulary is SmolLM2's. Besides its own pre-tokenizer (GPT-2 `ByteLevel`) the same
/// vocabulary is run with each other pre-tokenization the engine maps, built the way that model
/// family ships it (Llama 3 with `ignore_merges`, Qwen 2 with NFC, StarCoder's digit split): on the
/// `tokenizer.json` side by editing the JSON, on the GGUF side by naming `tokenizer.ggml.pre`.
@Suite("Tokenizer vs Hugging Face tokenizers on random text", .serialized)
struct TokenizerDifferentialTests {
    struct Fixture: Decodable {
        let texts: [String]
        let ids: [String: [String]]

        func expected(_ kind: String) throws -> [[Int]] {
            let rows = try #require(ids[kind])
            return rows.map { $0.split(separator: " ").map { Int($0)! } }
        }
    }

    static let fixture = Result {
        try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: URL(fileURLWithPath:
            ReferencePaths.packageRoot + "/Tests/Fixtures/tokenizer-differential.json")))
    }
    static let tokenizerJSON = ReferencePaths.reference + "/smollm2-hf/tokenizer.json"

    /// GGUF `tokenizer.ggml.pre` name and fixture column of each mapped pre-tokenization.
    static let kinds: [(gguf: String, column: String)] = [
        ("smollm", "gpt2"), ("gpt-2", "gpt2"), ("llama-bpe", "llama3"), ("qwen2", "qwen2"), ("starcoder", "starcoder"),
    ]

    /// Compares every text; reports the first few mismatches with both id lists.
    static func compare(_ tokenizer: BytePairTokenizer, _ fixture: Fixture, column: String, path: String) throws {
        let expected = try fixture.expected(column)
        #expect(fixture.texts.count >= 2000 && expected.count == fixture.texts.count)
        var mismatches = 0
        for (text, ids) in zip(fixture.texts, expected) {
            let encoded = tokenizer.encode(text)
            if encoded != ids {
                mismatches += 1
                if mismatches <= 5 { Issue.record("\(path) \(column) \(text.debugDescription): \(encoded) vs tokenizers \(ids)") }
            }
        }
        #expect(mismatches == 0, "\(path) \(column): \(mismatches) of \(fixture.texts.count) texts differ")
    }

    @Test("the issue's five texts give Hugging Face ids through the GGUF")
    func issueCases() throws {
        let tokenizer = try #require(try GGUFFile(path: ReferencePaths.smolLM2GGUF).tokenizer())
        let cases: [(String, [Int])] = [
            ("Here are tips:\n\n1. Sleep well.", [4590, 359, 5608, 42, 198, 198, 33, 30, 12877, 876, 30]),
            ("x = [\n    1,\n    2]", [104, 446, 933, 472, 216, 33, 28, 472, 216, 34, 77]),
            ("a\r\n0", [81, 201, 198, 32]),
            ("x       3", [104, 5013, 216, 35]),
            ("a\t\t5", [81, 197, 197, 37]),
        ]
        for (text, ids) in cases { #expect(tokenizer.encode(text) == ids, "\(text.debugDescription)") }
    }

    @Test("GGUF metadata path, every mapped pre-tokenizer name")
    func throughGGUF() throws {
        let fixture = try Self.fixture.get()
        let file = try GGUFFile(path: ReferencePaths.smolLM2GGUF)
        for kind in Self.kinds {
            let tokenizer = try #require(try file.tokenizer(preTokenizerName: kind.gguf))
            try Self.compare(tokenizer, fixture, column: kind.column, path: "GGUF pre=\(kind.gguf)")
        }
        // The file's own metadata says `smollm`.
        #expect(file["tokenizer.ggml.pre"]?.string == "smollm")
    }

    @Test("tokenizer.json path, every pre-tokenizer the JSON can describe")
    func throughTokenizerJSON() throws {
        let fixture = try Self.fixture.get()
        let data = try Data(contentsOf: URL(fileURLWithPath: Self.tokenizerJSON))
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("rlhf-tokenizer-diff-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        for column in ["gpt2", "llama3", "qwen2", "starcoder"] {
            var root = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
            Self.rewrite(&root, as: column)
            let path = directory.appendingPathComponent("\(column).json").path
            try JSONSerialization.data(withJSONObject: root).write(to: URL(fileURLWithPath: path))
            let tokenizer = try BytePairTokenizer.load(tokenizerJSON: path)
            try Self.compare(tokenizer, fixture, column: column, path: "tokenizer.json")
        }
    }

    /// The same edits `tools/make_tokenizer_fixtures.py` makes.
    static func rewrite(_ root: inout [String: Any], as column: String) {
        func split(_ pattern: String) -> [String: Any] {
            ["type": "Sequence", "pretokenizers": [
                ["type": "Split", "pattern": ["Regex": pattern], "behavior": "Isolated", "invert": false],
                ["type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": false],
            ]]
        }
        let llama3 = #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
        let qwen2 = #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
        switch column {
        case "llama3":
            root["pre_tokenizer"] = split(llama3)
            var model = root["model"] as? [String: Any] ?? [:]
            model["ignore_merges"] = true
            root["model"] = model
        case "qwen2":
            root["pre_tokenizer"] = split(qwen2)
            root["normalizer"] = ["type": "NFC"]
        case "starcoder":
            root["pre_tokenizer"] = ["type": "Sequence", "pretokenizers": [
                ["type": "Digits", "individual_digits": true], root["pre_tokenizer"] ?? [:]]]
        default: break
        }
    }
}
