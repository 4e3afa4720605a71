import Foundation
import RLHFData
import RLHFTokenizer
import Testing
import _RLHFTestSupport

/// Fixture paths, temporary files and shorthand for the data tests.
enum TestData {
    static let fixtures = ReferencePaths.packageRoot + "/Tests/Fixtures/data"

    static func fixture(_ name: String) -> String { fixtures + "/" + name }

    /// SmolLM2's tokenizer and chat template (`../shared/reference/smollm2-hf`), loaded once.
    static let smolLM2: (tokenizer: BytePairTokenizer, template: ChatTemplate) = {
        let directory = ReferencePaths.reference + "/smollm2-hf"
        let tokenizer = try! BytePairTokenizer.load(tokenizerJSON: directory + "/tokenizer.json")
        let jinja = try! String(contentsOfFile: directory + "/chat_template.jinja", encoding: .utf8)
        return (tokenizer, ChatTemplate.detect(fromJinja: jinja)!)
    }()

    /// The ``DatasetError`` `body` throws (nil when it throws none; another error is an issue).
    static func error(_ body: () throws -> Void) -> DatasetError? {
        do { try body() } catch let error as DatasetError { return error } catch {
            Issue.record("not a DatasetError: \(error)")
        }
        return nil
    }

    /// The error reading `text` as a dataset of `Record` named `name` throws.
    static func error<Record: DatasetRecord>(_ type: Record.Type, _ text: String, file name: String = "data.jsonl") -> DatasetError? {
        error { _ = try Dataset<Record>.parse(Data(text.utf8), file: name) }
    }
}

/// A fresh directory under the system temporary directory, removed when released.
final class TemporaryDirectory {
    let path: String

    init() throws {
        path = NSTemporaryDirectory() + "swift-rlhf-data-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    /// Writes `text` to `name` and returns its path.
    func write(_ text: String, to name: String) throws -> String {
        let target = path + "/" + name
        try Data(text.utf8).write(to: URL(fileURLWithPath: target))
        return target
    }
}

func user(_ content: String) -> ChatMessage { ChatMessage(role: "user", content: content) }
func assistant(_ content: String) -> ChatMessage { ChatMessage(role: "assistant", content: content) }
func system(_ content: String) -> ChatMessage { ChatMessage(role: "system", content: content) }
