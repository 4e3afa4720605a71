import ArgumentParser
import Foundation

/// Appends one JSON object per event to a file (JSON Lines), through `JSONEncoder`: the event's
/// own fields (snake_case) plus `"event": NAME`. Each line is flushed as it is written.
final class MetricsWriter {
    let handle: FileHandle
    let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return encoder
    }()

    init(path: String) throws {
        let parent = URL(fileURLWithPath: path).deletingLastPathComponent().path
        try? FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
        if !FileManager.default.fileExists(atPath: path) {
            FileManager.default.createFile(atPath: path, contents: nil)
        }
        guard let handle = FileHandle(forWritingAtPath: path) else {
            throw ValidationError("cannot open \(path) for writing")
        }
        handle.seekToEndOfFile()
        self.handle = handle
    }

    /// Writes `{"event": event, ...fields of value..., ...extra}`.
    func write(event: String, _ value: some Encodable, extra: [String: Double] = [:]) {
        guard let data = try? encoder.encode(value),
              var object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else { return }
        object["event"] = event
        for (key, number) in extra { object[key] = number.isFinite ? number : String(number) }
        guard let line = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]) else { return }
        handle.write(line + Data("\n".utf8))
    }
}
