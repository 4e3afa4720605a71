import Foundation
import RLHFTokenizer
import Testing
import _RLHFTestSupport

/// The tokenizer and chat template against `smollm2-135m-instruct.json` (transformers and llama.cpp
/// agree on every case).
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
        #expect(tokenizer.beginningOfSequenceTokenId == 1 && tokenizer.endOfSequenceTokenId == 2)
        for example in reference.tokenize {
            #expect(tokenizer.encode(example.text) == example.ids, "\(example.text.debugDescription)")
            #expect(tokenizer.decode(example.ids, skipSpecialTokens: false) == example.text)
        }
    }

    @Test("ChatML renders the reference prompts and their ids")
    func chatTemplate() throws {
        let tokenizer = try #require(Self.tokenizer), reference = try #require(Self.reference)
        let jinja = try String(contentsOfFile: ReferencePaths.reference + "/smollm2-hf/chat_template.jinja", encoding: .utf8)
        let template = try #require(ChatTemplate.detect(fromJinja: jinja))
        #expect(template == .chatML(defaultSystemPrompt: "You are a helpful AI assistant named SmolLM, trained by Hugging Face"))
        for example in reference.chat_template {
            let rendered = template.render(example.messages, addGenerationPrompt: true)
            #expect(rendered == example.rendered)
            #expect(tokenizer.encode(rendered) == example.ids)
        }
    }

    @Test func specialTokensAreMatchedWholeAndSkippable() throws {
        let tokenizer = try #require(Self.tokenizer)
        let ids = tokenizer.encode("<|im_start|>user\nHi<|im_end|>")
        #expect(ids.first == 1 && ids.last == 2)
        #expect(tokenizer.decode(ids) == "user\nHi")
        #expect(tokenizer.isSpecial(1) && !tokenizer.isSpecial(ids[1]))
        // A prefix of a special token is ordinary text.
        #expect(!tokenizer.encode("<|im_sta").contains(1))
    }

    @Test func streamingDecoderHoldsSplitCharacters() throws {
        let tokenizer = try #require(Self.tokenizer)
        let text = "Emoji 🙂 and 東京"
        var decoder = StreamingDecoder(tokenizer: tokenizer)
        var pieces = [String]()
        for token in tokenizer.encode(text) { pieces.append(decoder.append(token)) }
        pieces.append(decoder.finish())
        #expect(pieces.joined() == text)
        #expect(pieces.allSatisfy { !$0.contains("\u{FFFD}") })
    }

    @Test func encodesAMegabyteQuickly() throws {
        let tokenizer = try #require(Self.tokenizer)
        let paragraph = "The quick brown fox jumps over the lazy dog; numbers 12345, café, 東京 🙂.\n"
        let text = String(repeating: paragraph, count: 1_000_000 / paragraph.utf8.count)
        let ids = tokenizer.encode(text)
        #expect(ids.count > 100_000)
        #expect(tokenizer.decode(ids) == text)
    }

    @Test func malformedFilesGiveTypedErrors() throws {
        let path = NSTemporaryDirectory() + "swift-rlhf-tokenizer-\(UUID().uuidString).json"
        defer { try? FileManager.default.removeItem(atPath: path) }
        for content in ["not json", #"{"model": {"type": "Unigram"}}"#, #"{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": ["a b"]}, "pre_tokenizer": {"type": "ByteLevel"}}"#, #"{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}, "pre_tokenizer": {"type": "Whitespace"}}"#] {
            FileManager.default.createFile(atPath: path, contents: Data(content.utf8))
            #expect(throws: TokenizerError.self) { try BytePairTokenizer.load(tokenizerJSON: path) }
        }
    }
}

@Suite("Pre-tokenizers")
struct PreTokenizerTests {
    @Test func gpt2() {
        #expect(PreTokenizer.gpt2.split("Hello world!") == ["Hello", " world", "!"])
        #expect(PreTokenizer.gpt2.split("  leading  double") == [" ", " leading", " ", " double"])
        #expect(PreTokenizer.gpt2.split("don't I'M") == ["don", "'t", " I", "'", "M"])
        #expect(PreTokenizer.gpt2.split("a\n\n\nb") == ["a", "\n\n", "\n", "b"])
        #expect(PreTokenizer.gpt2.split("x 123 4.5") == ["x", " 123", " 4", ".", "5"])
        #expect(PreTokenizer.gpt2.split("end   ") == ["end", "   "])
        #expect(PreTokenizer.gpt2.split("東京 🙂!") == ["東京", " 🙂!"])
    }

    @Test func smollmIsolatesDigits() {
        #expect(PreTokenizer.smollm.split("x 123") == ["x", " ", "1", "2", "3"])
        #expect(PreTokenizer.smollm.split("42apples") == ["4", "2", "apples"])
    }

    @Test func llama3() {
        #expect(PreTokenizer.llama3.split("Hello world!") == ["Hello", " world", "!"])
        #expect(PreTokenizer.llama3.split("I'M 12345") == ["I", "'M", " ", "123", "45"])
        #expect(PreTokenizer.llama3.split("a.\n\nb") == ["a", ".\n\n", "b"])
        #expect(PreTokenizer.llama3.split("x  \n  y") == ["x", "  \n", " ", " y"])
        #expect(PreTokenizer.llama3.split("(hello)") == ["(hello", ")"])
    }
}
