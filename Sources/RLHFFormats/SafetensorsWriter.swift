/// Builds a safetensors file: add tensors, then ``write(to:)`` (atomic).
///
///     var writer = SafetensorsWriter(metadata: ["format": "pt"])
///     try writer.add(name: "w", shape: [2, 3], floats: [1, 2, 3, 4, 5, 6])
///     try writer.write(to: "model.safetensors")
///
/// Each added tensor's data is copied once; ``write(to:)`` streams those copies to disk without
/// another. The header is padded with spaces so the data section starts on an 8-byte boundary,
/// and the data is laid out contiguously (as the reference implementation requires) with wider
/// element types first, so every tensor starts at a multiple of its element size. Header entries
/// follow the data order; within one element size, insertion order is kept.
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

    /// An empty writer with the given `__metadata__` map.
    public init(metadata: [String: String] = [:]) { self.metadata = metadata }

    /// Number of tensors added so far.
    public var count: Int { pending.count }

    /// Checks the name and that `shape` holds exactly `count` elements.
    private func validate(_ name: String, _ shape: [Int], count: Int) throws {
        guard name != "__metadata__" else {
            throw FormatError.invalidTensor(name: name, reason: "the name \"__metadata__\" is reserved by the safetensors format")
        }
        guard !names.contains(name) else { throw FormatError.duplicateTensor(name: name) }
        var product = 1
        for dimension in shape {
            let (next, overflow) = product.multipliedReportingOverflow(by: dimension)
            guard dimension >= 0, !overflow else { throw FormatError.shapeMismatch(name: name, expected: shape, actual: [count]) }
            product = next
        }
        guard product == count else { throw FormatError.shapeMismatch(name: name, expected: shape, actual: [count]) }
    }

    private mutating func append(_ name: String, _ dtype: SafetensorsDType, _ shape: [Int], bytes: [UInt8]) {
        names.insert(name)
        pending.append(Pending(name: name, dtype: dtype, shape: shape, bytes: bytes))
    }

    /// Adds a float32 tensor (the data is copied); throws on a count that is not the shape's
    /// product (`shapeMismatch`) or a repeated name (`duplicateTensor`).
    public mutating func add(name: String, shape: [Int], floats: UnsafeBufferPointer<Float>) throws {
        try validate(name, shape, count: floats.count)
        append(name, .f32, shape, bytes: Self.littleEndianBytes(floats))
    }

    /// Adds a float32 tensor (the data is copied).
    public mutating func add(name: String, shape: [Int], floats: [Float]) throws {
        try floats.withUnsafeBufferPointer { try add(name: name, shape: shape, floats: $0) }
    }

    /// Adds an int64 tensor (the data is copied).
    public mutating func add(name: String, shape: [Int], int64s: [Int64]) throws {
        try validate(name, shape, count: int64s.count)
        append(name, .i64, shape, bytes: int64s.withUnsafeBufferPointer { Self.littleEndianBytes($0) })
    }

    /// Adds a tensor of any dtype from its raw little-endian element bytes (the data is copied);
    /// `bytes.count` must be the shape's product times the element size.
    public mutating func add(name: String, shape: [Int], dtype: SafetensorsDType, bytes: UnsafeRawBufferPointer) throws {
        guard bytes.count % dtype.byteSize == 0 else {
            throw FormatError.invalidTensor(name: name, reason: "\(bytes.count) bytes is not a whole number of \(dtype.rawValue) elements")
        }
        try validate(name, shape, count: bytes.count / dtype.byteSize)
        append(name, dtype, shape, bytes: [UInt8](bytes))
    }

    /// The bytes of `values`, little-endian.
    private static func littleEndianBytes<T: FixedWidthInteger>(_ values: UnsafeBufferPointer<T>) -> [UInt8] {
        #if _endian(little)
        return [UInt8](UnsafeRawBufferPointer(values))
        #else
        return values.map(\.littleEndian).withUnsafeBytes { [UInt8]($0) }
        #endif
    }

    private static func littleEndianBytes(_ values: UnsafeBufferPointer<Float>) -> [UInt8] {
        #if _endian(little)
        return [UInt8](UnsafeRawBufferPointer(values))
        #else
        return values.map(\.bitPattern.littleEndian).withUnsafeBytes { [UInt8]($0) }
        #endif
    }

    /// Tensors in data order: wider element types first, insertion order within one width.
    private var dataOrder: [Pending] {
        pending.enumerated()
            .sorted { ($1.element.dtype.byteSize, $0.offset) < ($0.element.dtype.byteSize, $1.offset) }
            .map(\.element)
    }

    /// The JSON header, padded with spaces so the data section starts on an 8-byte boundary.
    func headerBytes() -> [UInt8] {
        headerBytes(order: dataOrder)
    }

    private func headerBytes(order: [Pending]) -> [UInt8] {
        var parts = [String]()
        if !metadata.isEmpty {
            let items = metadata.keys.sorted().map { "\(jsonString($0)):\(jsonString(metadata[$0] ?? ""))" }
            parts.append("\"__metadata__\":{\(items.joined(separator: ","))}")
        }
        var offset = 0
        for tensor in order {
            let shape = tensor.shape.map(String.init).joined(separator: ",")
            parts.append(
                "\(jsonString(tensor.name)):{\"dtype\":\"\(tensor.dtype.rawValue)\",\"shape\":[\(shape)],"
                    + "\"data_offsets\":[\(offset),\(offset + tensor.bytes.count)]}")
            offset += tensor.bytes.count
        }
        var header = Array(("{" + parts.joined(separator: ",") + "}").utf8)
        header.append(contentsOf: repeatElement(0x20, count: (8 - header.count % 8) % 8))
        return header
    }

    /// Writes the file atomically (temporary file in the same directory, fsync, rename).
    public func write(to path: String) throws {
        let order = dataOrder
        let header = headerBytes(order: order)
        guard header.count <= SafetensorsFile.maximumHeaderLength else {
            throw FormatError.cannotWrite(
                path: path,
                reason: "the header would be \(header.count) bytes, over the \(SafetensorsFile.maximumHeaderLength)-byte limit readers enforce")
        }
        try AtomicFile.write(to: path) { writer in
            try writer.write(bytesOf: UInt64(header.count).littleEndian)
            try header.withUnsafeBytes { try writer.write($0) }
            for tensor in order { try tensor.bytes.withUnsafeBytes { try writer.write($0) } }
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
