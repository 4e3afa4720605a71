import Foundation
@testable import RLHFTokenizer
import Testing
import _RLHFTestSupport

/// The tokenizer against `smollm2-135m-instruct.json` (ids from Hugging Face `tokenizers`).
@Suite("Byte-level BPE vs the SmolLM2 reference")
struct BytePairTokenizerTests {
    static let reference: SmolLM2Reference? = try? SmolLM2Reference.load()
    static let tokenizerResult = Result { try BytePairTokenizer.load(
        tokenizerJSON: ReferencePaths.reference + "/smollm2-hf/tokenizer.json") }
    static var tokenizer: BytePairTokenizer? { try? tokenizerResult.get() }

    @Test("every reference text tokenizes identically and decodes back")
    func tokenize() throws {
        let tokenizer = try Self.tokenizerResult.get(), reference = try #require(Self.reference)
        #expect(tokenizer.vocabularySize == 49152)
        #expect(tokenizer.preTokenizer == .gpt2)
        #expect(tokenizer.beginningOfSequenceTokenId == 1 && tokenizer.endOfSequenceTokenId == 2 && tokenizer.paddingTokenId == 2)
        #expect(reference.tokenize.count == 15)
        for example in reference.tokenize {
            #expect(tokenizer.encode(example.text) == example.ids, "\(example.text.debugDescription)")
            #expect(tokenizer.decode(example.ids, skipSpecialTokens: false) == example.text)
            #expect(tokenizer.decode(tokenizer.encode(example.text), skipSpecialTokens: false)
                .unicodeScalars.elementsEqual(example.text.unicodeScalars))
        }
    }

    /// More ids from Hugging Face `tokenizers` 0.22 with this tokenizer.json.
    @Test("canonically equivalent text keeps its own bytes; long pieces; adjacent special tokens")
    func moreHuggingFaceCases() throws {
        let tokenizer = try #require(Self.tokenizer)
        let cases: [(String, [Int])] = [
            // Ω U+03A9 / OHM SIGN U+2126, Å U+00C5 / ANGSTROM SIGN U+212B, 한 precomposed / as jamo: String
            // equality would conflate each pair (a String-keyed piece cache once did).
            ("\u{3A9} \u{2126} \u{C5} \u{212B} \u{D55C} \u{1112}\u{1161}\u{11AB}",
             [153, 119, 4636, 222, 116, 5549, 223, 4636, 222, 121, 216, 33085, 246, 15822, 222, 236, 172, 223, 111, 172, 224, 121]),
            (String(repeating: "Supercalifragilisticexpialidocious", count: 3),
             Array(repeating: [22959, 5020, 342, 1808, 301, 40482, 104, 96, 409, 311, 42288], count: 3).flatMap { $0 }),
            (String(repeating: "-", count: 100), [15069, 36672]),
            (String(repeating: " ", count: 60) + "x", [12427, 1703, 16964, 1792]),
            ("a<|im_start|><|im_end|>b<|endoftext|>", [81, 1, 2, 82, 0]),
        ]
        for (text, ids) in cases {
            #expect(tokenizer.encode(text) == ids, "\(text.debugDescription)")
            let decoded = tokenizer.decode(ids, skipSpecialTokens: false)
            #expect(decoded.unicodeScalars.elementsEqual(text.unicodeScalars), "\(text.debugDescription)")
        }
    }

    @Test func specialTokensAreMatchedWholeAndSkippable() throws {
        let tokenizer = try #require(Self.tokenizer)
        let ids = tokenizer.encode("<|im_start|>user\nHi<|im_end|>")
        #expect(ids.first == 1 && ids.last == 2)
        #expect(tokenizer.decode(ids) == "user\nHi")
        #expect(tokenizer.decode(ids, skipSpecialTokens: false) == "<|im_start|>user\nHi<|im_end|>")
        #expect(tokenizer.isSpecial(1) && !tokenizer.isSpecial(ids[1]))
        // A prefix of a special token is ordinary text.
        #expect(!tokenizer.encode("<|im_sta").contains(1))
        #expect(tokenizer.id(of: "<|im_end|>") == 2 && tokenizer.id(of: "Ġt") != nil)
        #expect(tokenizer.bytes(of: 216) == [0x20])  // "Ġ"
        // Out-of-range ids decode to nothing.
        #expect(tokenizer.decode([-1, 49152, 81]) == "a")
    }

    @Test func decodeReplacesInvalidUTF8() throws {
        let tokenizer = try #require(Self.tokenizer)
        let emoji = tokenizer.encode("🙂")
        #expect(emoji.count > 1)
        #expect(tokenizer.decode(Array(emoji.dropLast())) == "\u{FFFD}")
        #expect(tokenizer.decode(emoji) == "🙂")
    }

    @Test func streamingDecoderHoldsSplitCharacters() throws {
        let tokenizer = try #require(Self.tokenizer)
        let text = "Emoji 🙂🚀 and 東京, Zürich 👍🏽"
        let ids = tokenizer.encode(text)
        // Some token must end inside a character for the test to mean anything.
        let split = (1..<ids.count).contains { k in tokenizer.decode(Array(ids[..<k])).contains("\u{FFFD}") }
        #expect(split)
        var decoder = StreamingDecoder(tokenizer: tokenizer)
        var pieces = [String]()
        for token in ids { pieces.append(decoder.append(token)) }
        pieces.append(decoder.finish())
        #expect(pieces.joined() == text)
        #expect(pieces.allSatisfy { !$0.contains("\u{FFFD}") })
        // An incomplete character left at the end comes out as U+FFFD.
        var partial = StreamingDecoder(tokenizer: tokenizer)
        let emoji = tokenizer.encode("🙂")
        for token in emoji.dropLast() { #expect(partial.append(token) == "") }
        #expect(partial.finish() == "\u{FFFD}")
    }

    @Test("the heap merge (long pieces) agrees with the rescanning merge")
    func heapAgreesWithScan() throws {
        let tokenizer = try #require(Self.tokenizer)
        var generator = SystemRandomNumberGenerator()
        let alphabet = Array("abcdeilnorst ".utf8) + Array("é東🙂".utf8)
        for length in [2, 3, 10, 47, 48, 49, 200] {
            for _ in 0..<20 {
                let bytes = (0..<length).map { _ in alphabet.randomElement(using: &generator)! }
                #expect(tokenizer.mergeForTesting(bytes, heap: true) == tokenizer.mergeForTesting(bytes, heap: false))
            }
        }
    }

    @Test func encodesAMegabyte() throws {
        let tokenizer = try #require(Self.tokenizer)
        let paragraph = "The quick brown fox jumps over the lazy dog; numbers 12345, café, 東京 🙂.\n"
        let text = String(repeating: paragraph, count: 1_000_000 / paragraph.utf8.count)
        let start = ContinuousClock.now
        let ids = tokenizer.encode(text)
        let elapsed = ContinuousClock.now - start
        #expect(ids.count > 100_000)
        #expect(tokenizer.decode(ids) == text)
        print("encoded \(text.utf8.count) bytes into \(ids.count) tokens in \(elapsed)")
    }

    @Test func encodesConcurrently() async throws {
        let tokenizer = try #require(Self.tokenizer), reference = try #require(Self.reference)
        let results = await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<8 {
                group.addTask { reference.tokenize.allSatisfy { tokenizer.encode($0.text) == $0.ids } }
            }
            return await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        #expect(results == Array(repeating: true, count: 8))
    }

    @Test func initializerFromParts() throws {
        // A toy vocabulary: bytes "a", "b", "Ġ" and merges a+b, Ġ+ab.
        let tokenizer = try BytePairTokenizer(
            tokens: ["<s>", "a", "b", "Ġ", "ab", "Ġab"], merges: [("a", "b"), ("Ġ", "ab")], specialTokens: ["<s>": 0],
            preTokenizer: .gpt2, beginningOfSequenceTokenId: 0, endOfSequenceTokenId: nil, paddingTokenId: nil)
        #expect(tokenizer.vocabularySize == 6)
        #expect(tokenizer.encode("<s>ab ab aab") == [0, 4, 5, 3, 1, 4])
        #expect(tokenizer.decode([0, 4, 5], skipSpecialTokens: false) == "<s>ab ab")
        // Bytes outside the vocabulary are dropped without an unknown token…
        #expect(tokenizer.encode("abc") == [4])
        // …and become it with one.
        let withUnknown = try BytePairTokenizer(
            tokens: ["<unk>", "a", "b", "ab"], merges: [("a", "b")], specialTokens: ["<unk>": 0],
            preTokenizer: .gpt2, beginningOfSequenceTokenId: nil, endOfSequenceTokenId: nil, paddingTokenId: nil, unknownTokenId: 0)
        #expect(withUnknown.encode("abc") == [3, 0])
        #expect(throws: TokenizerError.self) {
            try BytePairTokenizer(tokens: ["a", "b"], merges: [("a", "b")], specialTokens: [:], preTokenizer: .gpt2,
                                  beginningOfSequenceTokenId: nil, endOfSequenceTokenId: nil, paddingTokenId: nil)
        }
    }
}

/// `tokenizer.json` variants: pre-tokenizer detection and typed errors.
@Suite("tokenizer.json loading")
struct TokenizerJSONLoadingTests {
    static let minimalModel = #""model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": [["a", "b"]]}"#

    /// Writes `json` as tokenizer.json in a fresh folder and loads it.
    func load(_ json: String) throws -> BytePairTokenizer {
        let folder = NSTemporaryDirectory() + "swift-rlhf-tokenizer-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try Data(json.utf8).write(to: URL(fileURLWithPath: folder + "/tokenizer.json"))
        return try BytePairTokenizer.load(tokenizerJSON: folder + "/tokenizer.json")
    }

    @Test func detectsPreTokenizers() throws {
        let byteLevel = #"{"type": "ByteLevel", "add_prefix_space": false, "use_regex": true}"#
        let noRegex = #"{"type": "ByteLevel", "add_prefix_space": false, "use_regex": false}"#
        let llama3 = #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"#
        let qwen2 = llama3.replacingOccurrences(of: #"\\p{N}{1,3}"#, with: #"\\p{N}"#)
        func split(_ pattern: String) -> String {
            #"{"type": "Sequence", "pretokenizers": [{"type": "Split", "pattern": {"Regex": "\#(pattern)"}, "behavior": "Isolated", "invert": false}, \#(noRegex)]}"#
        }
        let cases: [(String, PreTokenizer)] = [
            (byteLevel, .gpt2),
            (#"{"type": "Sequence", "pretokenizers": [{"type": "Digits", "individual_digits": true}, \#(byteLevel)]}"#, .starCoder),
            (split(llama3), .llama3),
            (split(qwen2), .qwen2),
        ]
        for (section, kind) in cases {
            let tokenizer = try load(#"{\#(Self.minimalModel), "pre_tokenizer": \#(section)}"#)
            #expect(tokenizer.preTokenizer == kind)
            #expect(tokenizer.encode("ab") == [2])
        }
        // Llama 3 files set ignore_merges: a piece that is a whole token is taken as it is.
        let ignoring = try load(#"{"model": {"type": "BPE", "ignore_merges": true, "vocab": {"a": 0, "b": 1, "c": 2, "bc": 3, "abc": 4}, "merges": [["b", "c"]]}, "pre_tokenizer": \#(byteLevel)}"#)
        #expect(ignoring.ignoresMerges && ignoring.encode("abc") == [4])
        let merging = try load(#"{"model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "c": 2, "bc": 3, "abc": 4}, "merges": [["b", "c"]]}, "pre_tokenizer": \#(byteLevel)}"#)
        #expect(!merging.ignoresMerges && merging.encode("abc") == [0, 3])
        // Older merges as "a b" strings.
        let old = try load(#"{"model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": ["a b"]}, "pre_tokenizer": \#(byteLevel)}"#)
        #expect(old.encode("abab") == [2, 2])
    }

    @Test func malformedFilesGiveTypedErrors() throws {
        let byteLevel = #""pre_tokenizer": {"type": "ByteLevel"}"#
        let cases: [(String, String)] = [
            ("not json", "not valid JSON"),
            ("[1, 2]", "not a JSON object"),
            (#"{"model": {"type": "Unigram"}}"#, "only BPE"),
            (#"{"model": {"type": "BPE", "merges": []}, \#(byteLevel)}"#, "vocab"),
            (#"{"model": {"type": "BPE", "vocab": {"a": 0}}, \#(byteLevel)}"#, "merges"),
            (#"{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": ["a b"]}, \#(byteLevel)}"#, "merge #0"),
            (#"{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": [3]}, \#(byteLevel)}"#, "malformed merge"),
            (#"{"model": {"type": "BPE", "vocab": {"a": "x"}, "merges": []}, \#(byteLevel)}"#, "valid id"),
            (#"{\#(Self.minimalModel), "pre_tokenizer": {"type": "Whitespace"}}"#, "'Whitespace'"),
            (#"{\#(Self.minimalModel)}"#, "pre_tokenizer is missing"),
            (#"{\#(Self.minimalModel), "pre_tokenizer": {"type": "Sequence", "pretokenizers": [{"type": "Split", "pattern": {"Regex": "\\w+"}}, {"type": "ByteLevel", "use_regex": false}]}}"#, "Split"),
            (#"{\#(Self.minimalModel), "normalizer": {"type": "Lowercase"}, \#(byteLevel)}"#, "normalizer"),
            (#"{"model": {"type": "BPE", "byte_fallback": true, "vocab": {"a": 0}, "merges": []}, \#(byteLevel)}"#, "byte_fallback"),
        ]
        for (content, reason) in cases {
            do {
                _ = try load(content)
                Issue.record("no error for \(content)")
            } catch let error as TokenizerError {
                #expect(error.reason.contains(reason), "\(content): \(error)")
            } catch {
                Issue.record("untyped error \(error) for \(content)")
            }
        }
        #expect(throws: TokenizerError.self) { try BytePairTokenizer.load(tokenizerJSON: "/nonexistent/tokenizer.json") }
    }
}
