import Foundation
import RLHFData
import RLHFTokenizer
import Testing

@Suite("Dataset encoding")
struct DatasetEncoderTests {
    /// One token per UTF-8 byte, EOS 257: lengths are easy to reason about.
    let bytes = ByteTokenizer()
    let eos = 257

    func ids(_ text: String) -> [Int] { text.utf8.map(Int.init) }

    @Test("multi-turn messages: the loss mask is true exactly on assistant content and its end-of-turn token")
    func multiTurnLossMask() throws {
        let (tokenizer, template) = TestData.smolLM2
        let dataset = try SFTDataset.load(path: TestData.fixture("sft-messages.jsonl"))
        let encoded = try DatasetEncoder(tokenizer: tokenizer, template: template).encode(dataset)
        let example = encoded.examples[0]
        let segments: [(String, Bool)] = [
            ("<|im_start|>system\nYou are kind.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n", false),
            ("Hello! How can I help?<|im_end|>", true),
            ("\n<|im_start|>user\nTell me a joke.<|im_end|>\n<|im_start|>assistant\n", false),
            ("Why did the chicken cross the road?\nTo get to the other side.<|im_end|>", true),
        ]
        var tokens = [Int](), mask = [Bool]()
        for (text, trained) in segments {
            let pieces = tokenizer.encode(text)
            tokens += pieces
            mask += [Bool](repeating: trained, count: pieces.count)
        }
        #expect(example.tokens == tokens)
        #expect(example.lossMask == mask)
        // The same ids as the whole rendered conversation (its final "\n" dropped) here, where no
        // assistant turn starts with whitespace.
        var whole = template.render(try #require(messages(dataset.records[0])), addGenerationPrompt: false)
        #expect(whole.removeLast() == "\n")
        #expect(example.tokens == tokenizer.encode(whole))
        let imEnd = try #require(tokenizer.id(of: "<|im_end|>"))
        let imStart = try #require(tokenizer.id(of: "<|im_start|>"))
        #expect(zip(example.tokens, example.lossMask).filter { $0.0 == imEnd }.map(\.1) == [false, false, true, false, true])
        #expect(zip(example.tokens, example.lossMask).allSatisfy { $0.0 != imStart || !$0.1 })
        let trained = zip(example.tokens, example.lossMask).filter(\.1).map(\.0)
        #expect(tokenizer.decode(trained, skipSpecialTokens: false)
            == "Hello! How can I help?<|im_end|>Why did the chicken cross the road?\nTo get to the other side.<|im_end|>")
        #expect(example.line == 1)
        #expect(encoded.examples[1].lossMask.filter { $0 }.count == tokenizer.encode("1, 2, 3<|im_end|>").count)
    }

    func messages(_ record: SFTRecord) -> [ChatMessage]? {
        if case let .messages(messages) = record.content { return messages }
        return nil
    }

    @Test("plain text: prompt and completion as they are, EOS appended to completions when asked")
    func plainText() throws {
        let preference = try PreferenceDataset.load(path: TestData.fixture("preference-standard.jsonl"))
        let pairs = try DatasetEncoder(tokenizer: bytes).encode(preference)
        #expect(pairs.examples[0] == TokenizedPair(prompt: ids("The sky is"), chosen: ids(" blue.") + [eos], rejected: ids(" green.") + [eos], line: 1))
        let noEOS = try DatasetEncoder(tokenizer: bytes, appendEOS: false).encode(preference)
        #expect(noEOS.examples[2] == TokenizedPair(prompt: ids("2 + 2 ="), chosen: ids(" 4"), rejected: ids(" 5"), line: 4))
        let margins = try DatasetEncoder(tokenizer: bytes).encode(try PreferenceDataset.load(path: TestData.fixture("preference-margin.jsonl")))
        #expect(margins.examples.map(\.margin) == [2.5, 1, nil])

        let sft = try DatasetEncoder(tokenizer: bytes).encode(try SFTDataset.load(path: TestData.fixture("sft-text.jsonl")))
        #expect(sft.examples[0].tokens == ids("Once upon a time, a fox met a crow.") + [eos])
        #expect(sft.examples[0].lossMask.allSatisfy { $0 })
        let text = try SFTDataset.load(path: TestData.fixture("sft-text.jsonl"))
        #expect(try DatasetEncoder(tokenizer: bytes, appendEOS: false).encode(text).examples[1].tokens == ids("The end.\nMoral: think before you speak."))

        let (tokenizer, template) = TestData.smolLM2
        let mixed = try DatasetEncoder(tokenizer: tokenizer, template: template)
            .encode(try SFTDataset.load(path: TestData.fixture("sft-prompt-completion.jsonl")))
        let smolEOS = try #require(tokenizer.endOfSequenceTokenId)
        let first = mixed.examples[0]
        #expect(first.tokens == tokenizer.encode("Translate to French: cat") + tokenizer.encode(" chat") + [smolEOS])
        #expect(first.lossMask == [Bool](repeating: false, count: tokenizer.encode("Translate to French: cat").count)
            + [Bool](repeating: true, count: tokenizer.encode(" chat").count + 1))
        // Conversational: no EOS added after the end-of-turn token (for SmolLM2 they are the same token).
        let second = mixed.examples[1]
        #expect(tokenizer.decode(second.tokens, skipSpecialTokens: false).hasSuffix("<|im_start|>assistant\nchien<|im_end|>"))
    }

    @Test("KTO and prompt-only records")
    func unpairedAndPrompts() throws {
        let (tokenizer, template) = TestData.smolLM2
        let encoder = DatasetEncoder(tokenizer: tokenizer, template: template)
        let unpaired = try encoder.encode(try UnpairedPreferenceDataset.load(path: TestData.fixture("unpaired.jsonl")))
        #expect(unpaired.examples.map(\.label) == [true, false, true])
        #expect(unpaired.examples[2].completion == tokenizer.encode("Hello!<|im_end|>"))
        let prompts = try encoder.encode(try PromptDataset.load(path: TestData.fixture("prompts.jsonl")))
        #expect(prompts.examples[0] == TokenizedPrompt(tokens: tokenizer.encode("What is 3 * 7?"), text: "What is 3 * 7?",
                                                       fields: ["answer": .string("21"), "id": .number(1)], line: 1))
        let chat = prompts.examples[1]
        #expect(chat.text == template.render([user("What is 6 * 7?")], addGenerationPrompt: true))
        #expect(chat.tokens == tokenizer.encode(chat.text))
        #expect(chat.fields["answer"] == .string("42"))
    }

    @Test("Llama 3 template: the completion ends at <|eot_id|>, nothing to drop")
    func llama3Completion() throws {
        let encoder = DatasetEncoder(tokenizer: bytes, template: .llama3(defaultSystemPrompt: nil))
        var report = TruncationReport(policy: .none)
        let pair = try encoder.encode(PreferenceRecord(prompt: .messages([user("Hi")]), chosen: .messages([assistant("Hello")]),
                                                       rejected: .messages([assistant("Go away")])), report: &report)
        #expect(bytes.decode(pair.prompt) == "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n")
        #expect(bytes.decode(pair.chosen) == "Hello<|eot_id|>")
        #expect(bytes.decode(pair.rejected) == "Go away<|eot_id|>")
    }

    @Test("encoding errors name the file and line")
    func encodingErrors() throws {
        let conversational = try PreferenceDataset.load(path: TestData.fixture("preference-conversational.jsonl"))
        let noTemplate = TestData.error { _ = try DatasetEncoder(tokenizer: bytes).encode(conversational) }
        #expect(noTemplate?.line == 1)
        #expect(noTemplate?.description.hasSuffix("preference-conversational.jsonl:1: is conversational (lists of messages) but no chat template was given") == true)

        let userFirst = PreferenceDataset(file: "x.jsonl", records: [
            PreferenceRecord(prompt: .messages([user("q")]), chosen: .messages([user("not an answer")]), rejected: .messages([assistant("a")]), line: 7),
        ])
        let encoder = DatasetEncoder(tokenizer: bytes, template: .chatML(defaultSystemPrompt: nil))
        #expect(TestData.error { _ = try encoder.encode(userFirst) }?.description == """
            x.jsonl:7: the chat template does not render the completion after the prompt (the completion's first message is user; it should be the assistant's)
            """)
        let mixed = PreferenceDataset(file: "m.jsonl", records: [PreferenceRecord(prompt: .text("p"), chosen: .messages([assistant("a")]), rejected: .text("r"), line: 2)])
        #expect(TestData.error { _ = try encoder.encode(mixed) }?.description == "m.jsonl:2: mixes strings and lists of messages in its prompt and completions")
    }

    @Test("truncation: prompts keep their end, completions are cut at the end, the prompt makes room for one token")
    func truncation() throws {
        func pair(_ prompt: String, _ chosen: String, _ rejected: String, line: Int) -> PreferenceRecord {
            PreferenceRecord(prompt: .text(prompt), chosen: .text(chosen), rejected: .text(rejected), line: line)
        }
        let dataset = PreferenceDataset(file: "t.jsonl", records: [
            pair("abcd", "xyz", "uvwxyz", line: 1),        // 4 + 4 fits 8; 4 + 7 → rejected cut to 4
            pair("0123456789", "ab", "c", line: 2),        // prompt → last 6 (max prompt), then 6 + 3 > 8 → chosen cut to 2
            pair("p", "q", "r", line: 3),                  // untouched
        ])
        let policy = TruncationPolicy(maxPromptTokens: 6, maxLength: 8)
        let encoded = try DatasetEncoder(tokenizer: bytes, truncation: policy).encode(dataset)
        #expect(encoded.examples[0] == TokenizedPair(prompt: ids("abcd"), chosen: ids("xyz") + [eos], rejected: ids("uvwx"), line: 1))
        #expect(encoded.examples[1] == TokenizedPair(prompt: ids("456789"), chosen: ids("ab"), rejected: ids("c") + [eos], line: 2))
        #expect(encoded.examples[2] == TokenizedPair(prompt: ids("p"), chosen: ids("q") + [eos], rejected: ids("r") + [eos], line: 3))
        var expected = TruncationReport(policy: policy)
        expected.records = 3
        expected.promptsTruncated = 1
        expected.completionsTruncated = 2
        expected.maxPromptTokensSeen = 10
        expected.maxLengthSeen = 13
        #expect(encoded.report == expected)
        #expect(encoded.report.description
            == "3 records; longest prompt 10 tokens, 1 prompt truncated (max prompt 6); longest sequence 13 tokens, 2 completions truncated (max length 8)")

        // A prompt that leaves no room: cut from the left to maxLength - 1, one completion token each.
        let tight = try DatasetEncoder(tokenizer: bytes, truncation: TruncationPolicy(maxLength: 4)).encode(
            PreferenceDataset(file: "t.jsonl", records: [pair("0123456789", "ab", "cd", line: 1)]))
        #expect(tight.examples[0] == TokenizedPair(prompt: ids("789"), chosen: ids("a"), rejected: ids("c"), line: 1))
        #expect(tight.report.promptsTruncated == 1 && tight.report.completionsTruncated == 2)
        #expect(tight.report.description
            == "1 record; longest prompt 10 tokens, 1 prompt truncated (max prompt unlimited); longest sequence 13 tokens, 2 completions truncated (max length 4)")

        // SFT text and messages are cut at the end, mask with them; prompt + completion like pairs.
        let sft = SFTDataset(file: "s.jsonl", records: [
            SFTRecord(content: .text("abcdefghij"), line: 1),
            SFTRecord(content: .promptCompletion(prompt: .text("0123456789"), completion: .text("xyz")), line: 2),
            SFTRecord(content: .messages([user("u"), assistant("abcdefgh")]), line: 3),
        ])
        let cut = try DatasetEncoder(tokenizer: bytes, template: .chatML(defaultSystemPrompt: nil),
                                     truncation: TruncationPolicy(maxPromptTokens: 4, maxLength: 6)).encode(sft)
        #expect(cut.examples[0] == TokenizedSFTExample(tokens: ids("abcdef"), lossMask: [Bool](repeating: true, count: 6), line: 1))
        #expect(cut.examples[1] == TokenizedSFTExample(tokens: ids("6789xy"), lossMask: [false, false, false, false, true, true], line: 2))
        #expect(cut.examples[2].tokens == ids("<|im_s"))
        #expect(cut.examples[2].lossMask == [Bool](repeating: false, count: 6))
        #expect(cut.report.records == 3 && cut.report.promptsTruncated == 1 && cut.report.completionsTruncated == 3)

        // Prompt-only: keep the end; the text is what the kept tokens say.
        let prompts = try DatasetEncoder(tokenizer: bytes, truncation: TruncationPolicy(maxPromptTokens: 5, maxLength: 4)).encode(
            PromptDataset(file: "p.jsonl", records: [PromptRecord(prompt: .text("0123456789"), line: 1), PromptRecord(prompt: .text("ab"), line: 2)]))
        #expect(prompts.examples.map(\.tokens) == [ids("789"), ids("ab")])
        #expect(prompts.examples.map(\.text) == ["789", "ab"])
        #expect(prompts.report.promptsTruncated == 1 && prompts.report.completionsTruncated == 0 && prompts.report.maxPromptTokensSeen == 10)
    }

    @Test("parallel encoding keeps the records' order and equals record-by-record encoding")
    func parallelOrder() throws {
        let records = (0..<3000).map { index in
            PreferenceRecord(prompt: .text("prompt \(index) " + String(repeating: "x", count: index % 17)),
                             chosen: .text(" yes \(index)"), rejected: .text(" no"), line: index + 1)
        }
        let encoder = DatasetEncoder(tokenizer: bytes, truncation: TruncationPolicy(maxPromptTokens: 20, maxLength: 26))
        let parallel = try encoder.encode(PreferenceDataset(file: "p.jsonl", records: records))
        var report = TruncationReport(policy: encoder.truncation)
        let sequential = try records.map { (record) throws(DatasetError) in try encoder.encode(record, report: &report) }
        #expect(parallel.examples == sequential)
        #expect(parallel.report == report)
    }
}
