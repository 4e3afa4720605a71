import Foundation
import RLHFData
import RLHFTokenizer
import Testing

@Suite("Dataset records")
struct RecordTests {
    @Test("preference, standard: strings, extra fields kept, blank lines counted")
    func preferenceStandard() throws {
        let dataset = try PreferenceDataset.load(path: TestData.fixture("preference-standard.jsonl"))
        #expect(dataset.file.hasSuffix("preference-standard.jsonl"))
        #expect(dataset.records == [
            PreferenceRecord(prompt: .text("The sky is"), chosen: .text(" blue."), rejected: .text(" green."), line: 1),
            PreferenceRecord(prompt: .text("The capital of France is"), chosen: .text(" Paris."), rejected: .text(" Lyon."),
                             fields: ["source": .string("geography")], line: 2),
            PreferenceRecord(prompt: .text("2 + 2 ="), chosen: .text(" 4"), rejected: .text(" 5"), fields: ["id": .number(3)], line: 4),
        ])
    }

    @Test("preference, conversational: message lists")
    func preferenceConversational() throws {
        let dataset = try PreferenceDataset.load(path: TestData.fixture("preference-conversational.jsonl"))
        #expect(dataset.records == [
            PreferenceRecord(prompt: .messages([user("What color is the sky?")]), chosen: .messages([assistant("It is blue.")]),
                             rejected: .messages([assistant("It is green.")]), line: 1),
            PreferenceRecord(prompt: .messages([system("Answer briefly."), user("Capital of France?")]),
                             chosen: .messages([assistant("Paris.")]), rejected: .messages([assistant("Lyon.")]), line: 2),
        ])
    }

    @Test("preference, implicit prompt: the shared beginning becomes the prompt (as TRL's extract_prompt)")
    func preferenceImplicit() throws {
        let dataset = try PreferenceDataset.load(path: TestData.fixture("preference-implicit.jsonl"))
        #expect(dataset.records == [
            PreferenceRecord(prompt: .messages([user("What color is the sky?")]), chosen: .messages([assistant("It is blue.")]),
                             rejected: .messages([assistant("It is green.")]), line: 1),
            PreferenceRecord(prompt: .messages([user("Hi"), assistant("Hello!"), user("Name a fruit.")]),
                             chosen: .messages([assistant("Apple.")]), rejected: .messages([assistant("A car.")]), line: 2),
            // Text: the space before the first difference goes back to the completions.
            PreferenceRecord(prompt: .text("The sky is"), chosen: .text(" blue."), rejected: .text(" green."), line: 3),
        ])
    }

    @Test("implicit prompt extraction: edge cases")
    func extraction() throws {
        let split = try PreferenceRecord.extractPrompt(chosen: .text("abcX"), rejected: .text("abcY"))
        #expect(split.prompt == .text("abc") && split.chosen == .text("X") && split.rejected == .text("Y"))
        // Counted in Unicode scalars, as Python counts a str: "e" + U+0301 shares the "e".
        let scalars = try PreferenceRecord.extractPrompt(chosen: .text("cafe\u{301}!"), rejected: .text("cafe?"))
        #expect(scalars.prompt == .text("cafe") && scalars.chosen == .text("\u{301}!") && scalars.rejected == .text("?"))
        // Several differing messages after the shared ones are all completion.
        let long = try PreferenceRecord.extractPrompt(
            chosen: .messages([user("q"), assistant("a1"), user("more"), assistant("a2")]),
            rejected: .messages([user("q"), assistant("b1")]))
        #expect(long.prompt == .messages([user("q")]))
        #expect(long.chosen == .messages([assistant("a1"), user("more"), assistant("a2")]))
        func reason(_ chosen: RecordText, _ rejected: RecordText) -> String? {
            do { _ = try PreferenceRecord.extractPrompt(chosen: chosen, rejected: rejected); return nil } catch { return error.reason }
        }
        #expect(reason(.text("same"), .text("same")) == "'chosen' and 'rejected' are identical")
        #expect(reason(.text("abc"), .text("xyz")) == "'chosen' and 'rejected' share no beginning")
        #expect(reason(.text(" a"), .text(" b")) == "'chosen' and 'rejected' share no beginning")
        #expect(reason(.text("abc"), .text("abcd")) == "'chosen' is empty after the text it shares with the other completion")
        #expect(reason(.messages([user("a")]), .messages([user("b")])) == "'chosen' and 'rejected' share no leading messages")
        #expect(reason(.messages([user("a"), assistant("x")]), .messages([user("a")]))
            == "'rejected' is empty after the messages it shares with the other completion")
        #expect(reason(.messages([user("a"), user("b")]), .messages([user("a"), assistant("c")]))
            == "'chosen' and 'rejected' first differ at messages[1], which is a user message in 'chosen'; the completions after the shared messages must start with an assistant message")
    }

    @Test("preference with margin (null margin is no margin)")
    func margin() throws {
        let dataset = try PreferenceDataset.load(path: TestData.fixture("preference-margin.jsonl"))
        #expect(dataset.records.map(\.margin) == [2.5, 1, nil])
        #expect(dataset.records[2].fields.isEmpty)
    }

    @Test("unpaired preference (KTO)")
    func unpaired() throws {
        let dataset = try UnpairedPreferenceDataset.load(path: TestData.fixture("unpaired.jsonl"))
        #expect(dataset.records == [
            UnpairedPreferenceRecord(prompt: .text("The sky is"), completion: .text(" blue."), label: true, line: 1),
            UnpairedPreferenceRecord(prompt: .text("The sky is"), completion: .text(" green."), label: false,
                                     fields: ["annotator": .string("a1")], line: 2),
            UnpairedPreferenceRecord(prompt: .messages([user("Hi")]), completion: .messages([assistant("Hello!")]), label: true, line: 3),
        ])
    }

    @Test("prompt-only: every other field is kept for reward sources")
    func prompts() throws {
        let dataset = try PromptDataset.load(path: TestData.fixture("prompts.jsonl"))
        #expect(dataset.records == [
            PromptRecord(prompt: .text("What is 3 * 7?"), fields: ["answer": .string("21"), "id": .number(1)], line: 1),
            PromptRecord(prompt: .messages([user("What is 6 * 7?")]), fields: [
                "answer": .string("42"), "id": .number(2),
                "meta": .object(["difficulty": .string("easy"), "tags": .array([.string("math"), .string("multiplication")])]),
            ], line: 2),
        ])
    }

    @Test("SFT: text, messages, prompt + completion")
    func sft() throws {
        let text = try SFTDataset.load(path: TestData.fixture("sft-text.jsonl"))
        #expect(text.records == [
            SFTRecord(content: .text("Once upon a time, a fox met a crow."), line: 1),
            SFTRecord(content: .text("The end.\nMoral: think before you speak."), line: 2),
        ])
        let messages = try SFTDataset.load(path: TestData.fixture("sft-messages.jsonl"))
        #expect(messages.records[1] == SFTRecord(content: .messages([user("Count to 3"), assistant("1, 2, 3")]), line: 2))
        guard case let .messages(turns) = messages.records[0].content else { Issue.record("not messages"); return }
        #expect(turns.map(\.role) == ["system", "user", "assistant", "user", "assistant"])
        let pairs = try SFTDataset.load(path: TestData.fixture("sft-prompt-completion.jsonl"))
        #expect(pairs.records == [
            SFTRecord(content: .promptCompletion(prompt: .text("Translate to French: cat"), completion: .text(" chat")), line: 1),
            SFTRecord(content: .promptCompletion(prompt: .messages([user("Translate to French: dog")]),
                                                 completion: .messages([assistant("chien")])), line: 2),
        ])
    }

    @Test("format detection from the first record's fields")
    func detection() throws {
        let expected: [(String, DatasetFormat)] = [
            ("preference-standard.jsonl", .preference), ("preference-implicit.jsonl", .preference),
            ("preference-margin.jsonl", .preference), ("unpaired.jsonl", .unpairedPreference), ("prompts.jsonl", .promptOnly),
            ("sft-text.jsonl", .languageModeling), ("sft-messages.jsonl", .conversation),
            ("sft-prompt-completion.jsonl", .promptCompletion), ("prompts-bom-crlf.jsonl", .promptOnly),
        ]
        for (file, format) in expected { #expect(try DatasetFormat.detect(path: TestData.fixture(file)) == format, "\(file)") }
        let unknown = TestData.error { _ = try DatasetFormat.detect(Data("\n{\"question\": \"q\", \"id\": 1}\n".utf8), file: "q.jsonl") }
        #expect(unknown?.description == """
            q.jsonl:2: no dataset format fits the fields id, question; expected chosen + rejected (preference), \
            prompt + completion + label (unpaired preference), prompt + completion, messages, text, or prompt (prompt-only)
            """)
        #expect(TestData.error { _ = try DatasetFormat.detect(Data(), file: "e.jsonl") }?.description == "e.jsonl: the file is empty")
        #expect(TestData.error { _ = try DatasetFormat.detect(Data("[1]".utf8), file: "a.jsonl") }?.description
            == "a.jsonl:1: is not a JSON object (found an array)")
    }

    @Test("every kind of malformed record has its own message, with file and line")
    func malformedRecords() {
        let good = #"{"prompt": "p", "chosen": "c", "rejected": "r"}"#
        func preference(_ line: String) -> String? {
            TestData.error(PreferenceRecord.self, good + "\n\n" + line)?.description
        }
        let cases: [(String, String)] = [
            (#"{"prompt": "p", "rejected": "r"}"#, "data.jsonl:3: field 'chosen' is missing"),
            (#"{"prompt": "p", "chosen": null, "rejected": "r"}"#, "data.jsonl:3: field 'chosen' is null"),
            (#"{"prompt": "p", "completion": "c", "label": true}"#,
             "data.jsonl:3: field 'chosen' is missing (the fields completion, label, prompt look like an unpaired preference (KTO) record)"),
            (#"{"prompt": "p", "chosen": 3, "rejected": "r"}"#, "data.jsonl:3: 'chosen' must be a string or a list of messages, found a number"),
            (#"{"prompt": "p", "chosen": {"a": 1}, "rejected": "r"}"#, "data.jsonl:3: 'chosen' must be a string or a list of messages, found an object"),
            (#"{"prompt": "p", "chosen": "c", "rejected": "r", "margin": "big"}"#, "data.jsonl:3: 'margin' must be a number, found a string"),
            (#"{"prompt": [{"role": "user", "content": "q"}], "chosen": "c", "rejected": "r"}"#,
             "data.jsonl:3: 'prompt' is a list of messages but 'chosen' is a string; use one kind for both (TRL's standard or conversational format)"),
            (#"{"chosen": [{"role": "user", "content": "q"}], "rejected": "r"}"#,
             "data.jsonl:3: 'chosen' is a list of messages but 'rejected' is a string; use one kind for both (TRL's standard or conversational format)"),
            (#"{"prompt": [], "chosen": [], "rejected": []}"#, "data.jsonl:3: 'chosen' is an empty list of messages"),
            (#"{"prompt": [{"role": "user", "content": "q"}], "chosen": ["hi"], "rejected": []}"#,
             "data.jsonl:3: 'chosen' messages[0] is not an object (found a string)"),
            (#"{"prompt": [{"role": "user", "content": "q"}, {"role": "assistant"}, {"role": "user", "content": "x"}], "chosen": [{"role": "assistant", "content": "a"}], "rejected": [{"role": "assistant", "content": "b"}]}"#,
             "data.jsonl:3: 'prompt' messages[1] has no 'content'"),
            (#"{"prompt": [{"content": "q"}], "chosen": [{"role": "assistant", "content": "a"}], "rejected": [{"role": "assistant", "content": "b"}]}"#,
             "data.jsonl:3: 'prompt' messages[0] has no 'role'"),
            (#"{"prompt": [{"role": 1, "content": "q"}], "chosen": [{"role": "assistant", "content": "a"}], "rejected": [{"role": "assistant", "content": "b"}]}"#,
             "data.jsonl:3: 'prompt' messages[0] 'role' must be a string, found a number"),
            (#"{"prompt": [{"role": "user", "content": "q"}], "chosen": [{"role": "bot", "content": "a"}], "rejected": [{"role": "assistant", "content": "b"}]}"#,
             "data.jsonl:3: 'chosen' messages[0] 'role' must be one of system, user, assistant, tool; found 'bot'"),
            (#"{"prompt": [{"role": "user", "content": ["q"]}], "chosen": [{"role": "assistant", "content": "a"}], "rejected": [{"role": "assistant", "content": "b"}]}"#,
             "data.jsonl:3: 'prompt' messages[0] 'content' must be a string, found an array"),
            (#"{"chosen": "same", "rejected": "same"}"#,
             "data.jsonl:3: 'chosen' and 'rejected' are identical (no 'prompt' field, so the prompt is their shared beginning)"),
            (#"{"chosen": "yes", "rejected": "no"}"#,
             "data.jsonl:3: 'chosen' and 'rejected' share no beginning (no 'prompt' field, so the prompt is their shared beginning)"),
            (#"{"chosen": [{"role": "user", "content": "a"}], "rejected": [{"role": "user", "content": "b"}]}"#,
             "data.jsonl:3: 'chosen' and 'rejected' share no leading messages (no 'prompt' field, so the prompt is their shared beginning)"),
        ]
        for (line, expected) in cases { #expect(preference(line) == expected, "\(line)") }

        #expect(TestData.error(UnpairedPreferenceRecord.self, #"{"prompt": "p", "completion": "c", "label": "yes"}"#)?.description
            == "data.jsonl:1: 'label' must be a Boolean, found a string")
        #expect(TestData.error(UnpairedPreferenceRecord.self, #"{"prompt": "p", "completion": "c", "label": 1}"#)?.description
            == "data.jsonl:1: 'label' must be a Boolean, found a number")
        #expect(TestData.error(UnpairedPreferenceRecord.self, #"{"prompt": "p", "completion": "c"}"#)?.description
            == "data.jsonl:1: field 'label' is missing (the fields completion, prompt look like a prompt-completion record)")
        #expect(TestData.error(PromptRecord.self, #"{"question": "q"}"#, file: "q.jsonl")?.description == "q.jsonl:1: field 'prompt' is missing")
        #expect(TestData.error(PromptRecord.self, #"{"prompt": 7}"#)?.description
            == "data.jsonl:1: 'prompt' must be a string or a list of messages, found a number")

        let sftCases: [(String, String)] = [
            (#"{"text": "a", "messages": [{"role": "assistant", "content": "b"}]}"#,
             "data.jsonl:1: has both 'text' and 'messages'; an SFT record has one of 'text', 'messages', or 'prompt' + 'completion'"),
            (#"{"text": "a", "prompt": "b", "completion": "c"}"#,
             "data.jsonl:1: has both 'text' and 'prompt' + 'completion'; an SFT record has one of 'text', 'messages', or 'prompt' + 'completion'"),
            (#"{"text": ["a"]}"#, "data.jsonl:1: 'text' must be a string, found an array"),
            (#"{"messages": "hi"}"#, "data.jsonl:1: 'messages' must be a list of messages, found a string"),
            (#"{"messages": [{"role": "user", "content": "hi"}]}"#,
             "data.jsonl:1: 'messages' has no assistant message, so there is nothing to train on"),
            (#"{"prompt": "p"}"#, "data.jsonl:1: field 'completion' is missing (the field prompt looks like a prompt-only record)"),
            (#"{"completion": "c"}"#, "data.jsonl:1: field 'prompt' is missing"),
            (#"{"prompt": "p", "completion": [{"role": "assistant", "content": "c"}]}"#,
             "data.jsonl:1: 'prompt' is a string but 'completion' is a list of messages; use one kind for both (TRL's standard or conversational format)"),
            (#"{"prompt": "p", "chosen": "c", "rejected": "r"}"#,
             "data.jsonl:1: field 'completion' is missing (the fields chosen, prompt, rejected look like a preference record)"),
            (#"{"question": "q"}"#, "data.jsonl:1: has none of the SFT fields 'text', 'messages', or 'prompt' + 'completion' (found question)"),
        ]
        for (line, expected) in sftCases { #expect(TestData.error(SFTRecord.self, line)?.description == expected, "\(line)") }
    }
}
