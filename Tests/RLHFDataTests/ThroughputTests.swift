import Foundation
import RLHFData
import RLHFTokenizer
import Testing

@Suite("Dataset throughput")
struct ThroughputTests {
    /// Conversational preference lines of about 300 bytes each, varied by index.
    static func lines(_ count: Int) -> String {
        let topics = ["the sea", "a fox", "autumn leaves", "prime numbers", "a quiet town", "the moon", "bread", "rivers"]
        var text = ""
        text.reserveCapacity(count * 310)
        for index in 0..<count {
            let topic = topics[index % topics.count]
            text += #"{"prompt": [{"role": "user", "content": "Write one sentence about \#(topic), number \#(index)."}], "#
            text += #""chosen": [{"role": "assistant", "content": "Here is a sentence about \#(topic): it is calm, old and full of small wonders (\#(index))."}], "#
            text += #""rejected": [{"role": "assistant", "content": "No. \#(topic) is boring \#(index % 97)."}], "id": \#(index)}"#
            text += "\n"
        }
        return text
    }

    /// Loads and tokenizes a generated file: 20,000 lines by default (the debug-build suite),
    /// `RLHF_DATA_BENCH_LINES` to change it (100,000 for the release-build measurement).
    @Test("a generated file loads and tokenizes (timing printed, never asserted)")
    func loadAndTokenize() throws {
        let count = ProcessInfo.processInfo.environment["RLHF_DATA_BENCH_LINES"].flatMap { Int($0) } ?? 20_000
        let directory = try TemporaryDirectory()
        let text = Self.lines(count)
        let path = try directory.write(text, to: "pairs.jsonl")
        let (tokenizer, template) = TestData.smolLM2

        let start = Date()
        let dataset = try PreferenceDataset.load(path: path)
        let loaded = Date()
        let encoded = try DatasetEncoder(tokenizer: tokenizer, template: template,
                                         truncation: TruncationPolicy(maxPromptTokens: 64, maxLength: 96)).encode(dataset)
        let done = Date()

        #expect(dataset.records.count == count)
        #expect(encoded.examples.count == count)
        #expect(encoded.examples.last?.line == count)
        #expect(dataset.records[count - 1].fields["id"] == .number(Double(count - 1)))
        let bytes = Double(text.utf8.count) / 1_000_000
        let tokens = encoded.examples.reduce(0) { $0 + $1.prompt.count + $1.chosen.count + $1.rejected.count }
        print(String(format: "dataset throughput: %d lines (%.1f MB): load %.3f s, tokenize %.3f s (%d tokens), total %.3f s",
                     count, bytes, loaded.timeIntervalSince(start), done.timeIntervalSince(loaded), tokens, done.timeIntervalSince(start)))
        print("dataset throughput: \(encoded.report)")
    }
}
