import Foundation
import RLHFData
import RLHFTokenizer
import Testing

/// `Tests/Fixtures/data/chat-rendering.json`, written by `tools/make_chat_fixtures.py`: SmolLM2's
/// Jinja template rendered by jinja2 as transformers renders it, ids from Hugging Face `tokenizers`.
struct ChatRenderingFixture: Decodable {
    struct Case: Decodable {
        let messages: [ChatMessage]
        let prompt_text: String
        let prompt_ids: [Int]
        let full_text: String
        let full_ids: [Int]
        let completion_text: String
        let completion_ids: [Int]
    }
    let version: Int
    let cases: [Case]

    static func load() throws -> ChatRenderingFixture {
        let fixture = try JSONDecoder().decode(
            ChatRenderingFixture.self, from: Data(contentsOf: URL(fileURLWithPath: TestData.fixture("chat-rendering.json"))))
        guard fixture.version == 1 else {
            throw DatasetError(file: "chat-rendering.json", line: nil,
                               reason: "version \(fixture.version), expected 1 ---> HINT: re-run python3 tools/make_chat_fixtures.py")
        }
        return fixture
    }
}

@Suite("Chat rendering against jinja2 + tokenizers")
struct ChatRenderingTests {
    @Test("prompts and whole conversations render and tokenize exactly as transformers")
    func templateMatchesJinja() throws {
        let fixture = try ChatRenderingFixture.load()
        let (tokenizer, template) = TestData.smolLM2
        #expect(fixture.cases.count >= 30)
        for example in fixture.cases {
            let prompt = Array(example.messages.dropLast())
            let promptText = template.render(prompt, addGenerationPrompt: true)
            #expect(promptText == example.prompt_text)
            #expect(tokenizer.encode(promptText) == example.prompt_ids)
            let fullText = template.render(example.messages, addGenerationPrompt: false)
            #expect(fullText == example.full_text)
            #expect(tokenizer.encode(fullText) == example.full_ids)
        }
    }

    @Test("encoded prompt + completion: the prompt's ids exactly, the completion through <|im_end|>")
    func encoderMatchesJinja() throws {
        let fixture = try ChatRenderingFixture.load()
        let (tokenizer, template) = TestData.smolLM2
        let encoder = DatasetEncoder(tokenizer: tokenizer, template: template)
        var report = TruncationReport(policy: .none)
        var sameAsWhole = 0
        for example in fixture.cases {
            let prompt = RecordText.messages(Array(example.messages.dropLast()))
            let completion = RecordText.messages([example.messages.last!])
            // The completion is the whole conversation after the prompt, minus the template's final "\n".
            #expect(example.full_text == example.prompt_text + example.completion_text + "\n")

            let sft = try encoder.encode(SFTRecord(content: .promptCompletion(prompt: prompt, completion: completion)), report: &report)
            #expect(sft.tokens == example.prompt_ids + example.completion_ids, "\(example.messages.last!.content)")
            #expect(sft.lossMask == [Bool](repeating: false, count: example.prompt_ids.count)
                + [Bool](repeating: true, count: example.completion_ids.count))
            #expect(tokenizer.decode(sft.tokens.suffix(example.completion_ids.count), skipSpecialTokens: false) == example.completion_text)

            let other = RecordText.messages([assistant("Something else.")])
            let pair = try encoder.encode(PreferenceRecord(prompt: prompt, chosen: completion, rejected: other), report: &report)
            #expect(pair.prompt == example.prompt_ids)
            #expect(pair.chosen == example.completion_ids)
            #expect(try encoder.promptText(prompt) == example.prompt_text)
            if example.full_ids.starts(with: example.prompt_ids + example.completion_ids) { sameAsWhole += 1 }
        }
        // Tokenizing prompt and completion apart differs from tokenizing the whole text only where
        // the completion starts with whitespace the pre-tokenizer would join to the header's "\n".
        print("chat rendering: prompt ids + completion ids equal the whole conversation's ids in \(sameAsWhole) of \(fixture.cases.count) cases")
        #expect(sameAsWhole >= fixture.cases.count - 3)
    }
}
