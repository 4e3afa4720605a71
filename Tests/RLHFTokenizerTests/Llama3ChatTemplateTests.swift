import Foundation
import RLHFTokenizer
import Testing
import _RLHFTestSupport

/// `Tests/Fixtures/data/chat-rendering-llama3.json`, written by `tools/make_chat_fixtures.py`: Meta's
/// Llama 3, 3.1 (= 3.3) and 3.2 Instruct templates (their sources are in the fixture) rendered by
/// jinja2 as transformers renders them, `strftime_now` answering `now`.
struct Llama3ChatFixture: Decodable {
    struct Case: Decodable {
        let template: String
        let messages: [ChatMessage]
        let add_generation_prompt: Bool
        /// nil where transformers raises (`error`).
        let text: String?
        let error: String?
    }
    let version: Int
    let now: String
    let today_date: String
    let templates: [String: String]
    let cases: [Case]

    static let path = ReferencePaths.packageRoot + "/Tests/Fixtures/data/chat-rendering-llama3.json"

    static func load() throws -> Llama3ChatFixture {
        let fixture = try JSONDecoder().decode(Llama3ChatFixture.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
        #expect(fixture.version == 1, "re-run python3 tools/make_chat_fixtures.py")
        return fixture
    }
}

@Suite("Llama 3 chat templates against jinja2")
struct Llama3ChatTemplateTests {
    static let system31 = "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\nToday Date: "

    static func utc(_ iso: String) -> Date { ISO8601DateFormatter().date(from: iso)! }

    @Test("Meta's templates are recognised: 3.0; 3.1 with its fixed date; 3.2 with the day of rendering")
    func detection() throws {
        let fixture = try Llama3ChatFixture.load()
        #expect(fixture.templates.keys.sorted() == ["llama3", "llama3.1", "llama3.2"])
        #expect(ChatTemplate.detect(fromJinja: fixture.templates["llama3"]!) == .llama3(defaultSystemPrompt: nil))
        #expect(ChatTemplate.detect(fromJinja: fixture.templates["llama3.1"]!) == .llama31(todayDate: "26 Jul 2024"))
        #expect(ChatTemplate.detect(fromJinja: fixture.templates["llama3.2"]!) == .llama31(todayDate: nil))
    }

    @Test("every conversation renders exactly as transformers renders it")
    func rendersAsJinja() throws {
        let fixture = try Llama3ChatFixture.load()
        // 3.2's date is the fixture's strftime_now; detect gives nil (today) for it.
        let templates: [String: ChatTemplate] = [
            "llama3": try #require(ChatTemplate.detect(fromJinja: fixture.templates["llama3"]!)),
            "llama3.1": try #require(ChatTemplate.detect(fromJinja: fixture.templates["llama3.1"]!)),
            "llama3.2": .llama31(todayDate: fixture.today_date),
        ]
        var rendered = [String: Int]()
        for example in fixture.cases {
            let template = try #require(templates[example.template])
            let text = template.render(example.messages, addGenerationPrompt: example.add_generation_prompt)
            if let expected = example.text {
                #expect(text == expected, "\(example.template), generation prompt \(example.add_generation_prompt): \(example.messages)")
                rendered[example.template, default: 0] += 1
            } else {
                // transformers raises for an empty conversation with 3.1+ (messages[0] is undefined);
                // the system turn alone is rendered instead.
                #expect(example.messages.isEmpty && example.template != "llama3", "\(example.error ?? "")")
                let date = example.template == "llama3.1" ? "26 Jul 2024" : fixture.today_date
                #expect(text == Self.system31 + date + "\n\n<|eot_id|>"
                    + (example.add_generation_prompt ? "<|start_header_id|>assistant<|end_header_id|>\n\n" : ""))
            }
        }
        #expect(rendered["llama3", default: 0] >= 100 && rendered["llama3.1", default: 0] >= 100 && rendered["llama3.2", default: 0] >= 100)
    }

    @Test("Llama 3.2's date: Python's strftime(\"%d %b %Y\"), local time, on the day of rendering")
    func todayDate() throws {
        let fixture = try Llama3ChatFixture.load()
        let utc = try #require(TimeZone(identifier: "UTC"))
        #expect(ChatTemplate.llama31Date(Self.utc(fixture.now + "Z"), timeZone: utc) == fixture.today_date)
        #expect(ChatTemplate.llama31Date(Self.utc("2024-07-05T00:00:00Z"), timeZone: utc) == "05 Jul 2024")
        #expect(ChatTemplate.llama31Date(Self.utc("2024-12-31T23:30:00Z"), timeZone: try #require(TimeZone(secondsFromGMT: 3600))) == "01 Jan 2025")
        #expect(ChatTemplate.llama31Date(Self.utc("2025-01-01T00:30:00Z"), timeZone: try #require(TimeZone(secondsFromGMT: -3600))) == "31 Dec 2024")

        // nil: today, as C's strftime (what Python calls) prints it in the local time zone.
        func cToday() -> String {
            var now = time(nil)
            var parts = tm()
            localtime_r(&now, &parts)
            var buffer = [CChar](repeating: 0, count: 64)
            let count = strftime(&buffer, buffer.count, "%d %b %Y", &parts)
            return String(decoding: buffer[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
        let before = cToday()
        let text = ChatTemplate.llama31(todayDate: nil).render([ChatMessage(role: "user", content: "Hi")], addGenerationPrompt: false)
        let after = cToday()
        #expect(text.hasPrefix(Self.system31 + before + "\n\n<|eot_id|>") || text.hasPrefix(Self.system31 + after + "\n\n<|eot_id|>"), "\(text)")
    }

    @Test("trim is Python's str.strip(), by scalar; BOS comes with the first message; 3.1 tool results are JSON")
    func details() {
        let llama3 = ChatTemplate.llama3(defaultSystemPrompt: nil)
        #expect(llama3.render([], addGenerationPrompt: false) == "")
        #expect(llama3.render([], addGenerationPrompt: true) == "<|start_header_id|>assistant<|end_header_id|>\n\n")
        func content(_ text: String) -> String {
            let rendered = llama3.render([ChatMessage(role: "user", content: text)], addGenerationPrompt: false)
            return String(rendered.dropFirst("<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\n".count).dropLast("<|eot_id|>".count))
        }
        #expect(content(" \t\n\r\u{0B}\u{0C}\u{1C}\u{1F}\u{85}\u{A0}\u{3000}x y\u{2028}\u{2029}\u{202F}\u{205F}\u{1680}\u{2000}\u{200A} ") == "x y")
        #expect(content("\u{200B}x\u{FEFF}") == "\u{200B}x\u{FEFF}")   // not whitespace to Python
        #expect(content(" \u{301}x") == "\u{301}x")                      // the space goes, not its combining mark
        #expect(content("\r\n") == "")

        let llama31 = ChatTemplate.llama31(todayDate: "26 Jul 2024")
        #expect(llama31.endOfTurn == "<|eot_id|>")
        #expect(llama31.render([ChatMessage(role: "system", content: " Be brief. "), ChatMessage(role: "tool", content: " \"a\"\\\n\u{1}é ")],
                               addGenerationPrompt: true)
            == Self.system31 + "26 Jul 2024\n\nBe brief.<|eot_id|>"
            + "<|start_header_id|>ipython<|end_header_id|>\n\n\" \\\"a\\\"\\\\\\n\\u0001é \"<|eot_id|>"
            + "<|start_header_id|>assistant<|end_header_id|>\n\n")
    }
}
