import Foundation

/// A problem with a dataset file, at a line when it concerns one: `data.jsonl:17: field 'chosen' is missing`.
public struct DatasetError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The file, as it was given.
    public let file: String
    /// The 1-based line number; nil for a problem with the whole file (unreadable, empty).
    public let line: Int?
    /// What is wrong.
    public let reason: String

    public init(file: String, line: Int?, reason: String) {
        self.file = file
        self.line = line
        self.reason = reason
    }

    /// `FILE:LINE: reason`, or `FILE: reason` for the whole file.
    public var description: String {
        if let line { return "\(file):\(line): \(reason)" }
        return "\(file): \(reason)"
    }
}

/// One non-blank line of a JSONL file: its JSON object and where it came from.
public struct JSONLObject: Sendable, Equatable {
    /// The 1-based line number (blank lines count).
    public let line: Int
    public let members: [String: JSONValue]

    public init(line: Int, members: [String: JSONValue]) {
        self.line = line
        self.members = members
    }
}

/// Reads JSON Lines files: one JSON object per line.
///
/// Blank lines (only spaces, tabs or `\r`) are skipped but counted, so line numbers match an
/// editor's; `\r\n` line ends and a UTF-8 byte-order mark at the start of the file are accepted.
/// Any other malformed line is an error naming the file and line; nothing is skipped silently.
/// The file is read at once and its lines are parsed in parallel, in coarse chunks.
public enum JSONLReader {
    /// The objects of the file at `path`, in order.
    public static func read(path: String) throws(DatasetError) -> [JSONLObject] {
        try map(try contents(of: path), file: path) { $0 }
    }

    /// The objects of JSONL `data`; `file` names it in errors.
    public static func parse(_ data: Data, file: String) throws(DatasetError) -> [JSONLObject] {
        try map(data, file: file) { $0 }
    }

    /// The bytes of the file at `path`.
    static func contents(of path: String) throws(DatasetError) -> Data {
        do {
            return try Data(contentsOf: URL(fileURLWithPath: path), options: .mappedIfSafe)
        } catch {
            let reason = FileManager.default.fileExists(atPath: path) ? "cannot be read" : "no such file"
            throw DatasetError(file: path, line: nil, reason: reason)
        }
    }

    /// Parses every non-blank line of `data` and passes its object through `transform`, in
    /// parallel chunks; the results keep the file's order. The first error by line number wins.
    static func map<T>(
        _ data: Data, file: String, _ transform: @Sendable (JSONLObject) throws(DatasetError) -> T
    ) throws(DatasetError) -> [T] {
        if data.isEmpty { throw DatasetError(file: file, line: nil, reason: "the file is empty") }
        let result: Result<[T], DatasetError> = data.withUnsafeBytes { raw in
            let bytes = raw.bindMemory(to: UInt8.self)
            let lines = splitLines(bytes)
            if lines.isEmpty { return .failure(DatasetError(file: file, line: nil, reason: "the file has only blank lines")) }
            let chunks = ParallelChunks.map(count: lines.count, minimumChunk: 256) { range -> Result<[T], DatasetError> in
                var output = [T]()
                output.reserveCapacity(range.count)
                for index in range {
                    let line = lines[index]
                    do throws(DatasetError) {
                        let slice = UnsafeBufferPointer(rebasing: bytes[line.start..<line.end])
                        let object = try parseObject(slice, file: file, line: line.number)
                        output.append(try transform(JSONLObject(line: line.number, members: object)))
                    } catch {
                        return .failure(error)
                    }
                }
                return .success(output)
            }
            var output = [T]()
            output.reserveCapacity(lines.count)
            for chunk in chunks {
                switch chunk {
                case let .success(values): output.append(contentsOf: values)
                case let .failure(error): return .failure(error)  // chunks are in order: the first is the earliest
                }
            }
            return .success(output)
        }
        return try result.get()
    }

    /// A line's byte range (without its `\n`) and 1-based number.
    struct LineRange { let start: Int; let end: Int; let number: Int }

    /// The non-blank lines of `bytes`, skipping a UTF-8 byte-order mark at the start.
    static func splitLines(_ bytes: UnsafeBufferPointer<UInt8>) -> [LineRange] {
        var lines = [LineRange]()
        var start = 0
        if bytes.count >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF { start = 3 }
        var number = 1
        guard let base = bytes.baseAddress else { return lines }
        while start < bytes.count {
            let end: Int
            if let newline = memchr(base + start, 0x0A, bytes.count - start) {
                end = base.distance(to: newline.assumingMemoryBound(to: UInt8.self))
            } else {
                end = bytes.count
            }
            var isBlank = true
            for index in start..<end where bytes[index] != 0x20 && bytes[index] != 0x09 && bytes[index] != 0x0D {
                isBlank = false
                break
            }
            if !isBlank { lines.append(LineRange(start: start, end: end, number: number)) }
            number += 1
            start = end + 1
        }
        return lines
    }

    /// The JSON object on one line.
    static func parseObject(_ bytes: UnsafeBufferPointer<UInt8>, file: String, line: Int) throws(DatasetError) -> [String: JSONValue] {
        let value: JSONValue
        do throws(JSONParser.SyntaxError) {
            value = try JSONParser.parse(bytes)
        } catch {
            throw DatasetError(file: file, line: line, reason: "is not valid JSON (\(error.description))")
        }
        guard case let .object(members) = value else {
            throw DatasetError(file: file, line: line, reason: "is not a JSON object (found \(value.kindDescription))")
        }
        return members
    }
}
