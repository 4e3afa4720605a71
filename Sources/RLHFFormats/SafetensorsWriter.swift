#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Builds a safetensors file: add tensors, then ``write(to:)`` (atomic).
///
///     var writer = SafetensorsWriter(metadata: ["format": "pt"])
///     try writer.add(name: "w", shape: [2, 3], floats: [1, 2, 3, 4, 5, 6])
///     try writer.write(to: "model.safetensors")
public struct SafetensorsWriter {
    private struct Pending {
        let name: String
        let dtype: SafetensorsDType
        let shape: [Int]
        let bytes: [UInt8]
    }

    private var pending: [Pending] = []
    private var names: Set<String> = []
    /// The `__metadata__` map written to the header.
    public var metadata: [String: String]

    public init(metadata: [String: String] = [:]) { self.metadata = metadata }

    private mutating func append(_ name: String, _ dtype: SafetensorsDType, _ shape: [Int], count: Int, bytes: [UInt8]) throws {
        guard !names.contains(name), name != "__metadata__" else { throw FormatError.duplicateTensor(name: name) }
        guard shape.allSatisfy({ $0 >= 0 }), shape.reduce(1, *) == count else {
            throw FormatError.shapeMismatch(name: name, expected: shape, actual: [count])
        }
        names.insert(name)
        pending.append(Pending(name: name, dtype: dtype, shape: shape, bytes: bytes))
    }

    /// Adds a float32 tensor (the data is copied).
    public mutating func add(name: String, shape: [Int], floats: UnsafeBufferPointer<Float>) throws {
        let bytes = [UInt8](UnsafeRawBufferPointer(floats))
        try append(name, .f32, shape, count: floats.count, bytes: bytes)
    }

    /// Adds a float32 tensor.
    public mutating func add(name: String, shape: [Int], floats: [Float]) throws {
        try floats.withUnsafeBufferPointer { try add(name: name, shape: shape, floats: $0) }
    }

    /// Adds an int64 tensor.
    public mutating func add(name: String, shape: [Int], int64s: [Int64]) throws {
        let bytes = int64s.withUnsafeBytes { [UInt8]($0) }
        try append(name, .i64, shape, count: int64s.count, bytes: bytes)
    }

    /// The JSON header, padded with spaces so the data section starts on an 8-byte boundary.
    func headerBytes() -> [UInt8] {
        var parts = [String]()
        if !metadata.isEmpty {
            let items = metadata.keys.sorted().map { "\(jsonString($0)):\(jsonString(metadata[$0] ?? ""))" }
            parts.append("\"__metadata__\":{\(items.joined(separator: ","))}")
        }
        var offset = 0
        for tensor in pending {
            let shape = tensor.shape.map(String.init).joined(separator: ",")
            parts.append(
                "\(jsonString(tensor.name)):{\"dtype\":\"\(tensor.dtype.rawValue)\",\"shape\":[\(shape)],\"data_offsets\":[\(offset),\(offset + tensor.bytes.count)]}")
            offset += tensor.bytes.count
        }
        var header = Array(("{" + parts.joined(separator: ",") + "}").utf8)
        while (8 + header.count) % 8 != 0 { header.append(0x20) }
        return header
    }

    /// Writes the file atomically (temporary file, fsync, rename).
    public func write(to path: String) throws {
        let header = headerBytes()
        try AtomicFile.write(to: path) { writer in
            var length = UInt64(header.count).littleEndian
            try withUnsafeBytes(of: &length) { try writer.write($0) }
            try header.withUnsafeBytes { try writer.write($0) }
            for tensor in pending { try tensor.bytes.withUnsafeBytes { try writer.write($0) } }
        }
    }
}

/// `text` as a JSON string literal.
func jsonString(_ text: String) -> String {
    var result = "\""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\"": result += "\\\""
        case "\\": result += "\\\\"
        case "\n": result += "\\n"
        case "\r": result += "\\r"
        case "\t": result += "\\t"
        default:
            if scalar.value < 0x20 {
                let hex = String(scalar.value, radix: 16)
                result += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            } else {
                result.unicodeScalars.append(scalar)
            }
        }
    }
    return result + "\""
}
