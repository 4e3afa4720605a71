/// A metadata value in a GGUF file.
public indirect enum GGUFValue: Sendable, Equatable {
    case uint8(UInt8), int8(Int8), uint16(UInt16), int16(Int16), uint32(UInt32), int32(Int32)
    case float32(Float), bool(Bool), string(String), array([GGUFValue]), uint64(UInt64), int64(Int64), float64(Double)

    /// The value as an integer, when it is one (of any width).
    public var integer: Int? {
        switch self {
        case let .uint8(v): return Int(v)
        case let .int8(v): return Int(v)
        case let .uint16(v): return Int(v)
        case let .int16(v): return Int(v)
        case let .uint32(v): return Int(v)
        case let .int32(v): return Int(v)
        case let .uint64(v): return v <= UInt64(Int.max) ? Int(v) : nil
        case let .int64(v): return Int(v)
        default: return nil
        }
    }

    /// The value as a floating-point number, when it is numeric.
    public var double: Double? {
        switch self {
        case let .float32(v): return Double(v)
        case let .float64(v): return v
        default: return integer.map(Double.init)
        }
    }

    public var string: String? { if case let .string(v) = self { return v } else { return nil } }
    public var array: [GGUFValue]? { if case let .array(v) = self { return v } else { return nil } }
    public var bool: Bool? { if case let .bool(v) = self { return v } else { return nil } }
}

/// One tensor's entry in a GGUF file.
public struct GGUFTensorInfo: Sendable, Equatable {
    public let name: String
    /// ggml order: dims[0] is the innermost (fastest-varying) axis.
    public let dimensions: [Int]
    public let type: GGMLType
    /// Absolute byte range in the file.
    public let byteRange: Range<Int>
    /// Product of the dimensions.
    public let elementCount: Int

    /// Row-major shape (dimensions reversed): a {in, out} matrix is [out, in].
    public var shape: [Int] { dimensions.reversed() }
}

/// A GGUF (v2/v3) file: metadata, tensor directory and memory-mapped tensor data.
///
/// Everything is validated on open, before any tensor is allocated: magic and version, counts
/// against the bytes left, string and array lengths, value types, duplicate keys and names,
/// dimension counts and products, tensor types, block alignment of the inner dimension, the
/// data alignment, and that every tensor lies inside the file without overlapping another.
/// Errors are ``FormatError``s naming the key or tensor and the byte offset.
public final class GGUFFile: @unchecked Sendable {
    public let path: String
    public let version: UInt32
    /// Metadata in file order.
    public let metadata: [(key: String, value: GGUFValue)]
    /// Tensors in file order.
    public let tensors: [GGUFTensorInfo]
    /// `general.alignment` (default 32).
    public let alignment: Int
    private let file: MappedFile
    private let metadataIndex: [String: Int]
    private let tensorIndex: [String: Int]

    /// Largest metadata array accepted (more than any real vocabulary).
    static let maximumArrayCount = 1 << 24
    /// Longest string accepted.
    static let maximumStringLength = 1 << 24

    public init(path: String) throws {
        self.path = path
        file = try MappedFile(path: path)
        var reader = ByteReader(file.bytes, context: path)
        let magic = try reader.readUInt32("magic")
        guard magic == 0x4655_4747 else {  // "GGUF" little-endian
            throw FormatError.invalidHeader(file: path, reason: "not a GGUF file (magic 0x\(String(magic, radix: 16)) at byte 0)")
        }
        version = try reader.readUInt32("version")
        guard version == 2 || version == 3 else {
            let hint = version.byteSwapped <= 3 ? " (a big-endian file?)" : ""
            throw FormatError.invalidHeader(file: path, reason: "GGUF version \(version) is not supported (2 or 3)\(hint)")
        }
        let tensorCount = try reader.readUInt64("tensor count")
        let metadataCount = try reader.readUInt64("metadata count")
        // Each metadata entry needs ≥ 13 bytes, each tensor info ≥ 28: reject impossible counts now.
        guard metadataCount <= UInt64(reader.remaining / 13), tensorCount <= UInt64(reader.remaining / 28) else {
            throw FormatError.invalidHeader(
                file: path, reason: "\(tensorCount) tensors and \(metadataCount) metadata entries cannot fit in \(file.count) bytes")
        }
        var metadata = [(key: String, value: GGUFValue)]()
        var metadataIndex = [String: Int]()
        for _ in 0..<Int(metadataCount) {
            let keyOffset = reader.offset
            let key = try Self.readString(&reader, what: "metadata key")
            if metadataIndex[key] != nil {
                throw FormatError.invalidHeader(file: path, reason: "duplicate metadata key '\(key)' at byte \(keyOffset)")
            }
            let type = try reader.readUInt32("type of '\(key)'")
            let value = try Self.readValue(&reader, type: type, key: key, depth: 0)
            metadataIndex[key] = metadata.count
            metadata.append((key, value))
        }
        self.metadata = metadata
        self.metadataIndex = metadataIndex

        let alignmentValue = metadataIndex["general.alignment"].map { metadata[$0].value } ?? .uint32(32)
        guard let alignment = alignmentValue.integer, alignment > 0, alignment & (alignment - 1) == 0, alignment <= 1 << 20 else {
            throw FormatError.invalidHeader(file: path, reason: "general.alignment \(alignmentValue) is not a power of two")
        }
        self.alignment = alignment

        struct Pending { let name: String, dimensions: [Int], type: GGMLType, offset: Int, count: Int, infoOffset: Int }
        var pending = [Pending]()
        var tensorIndex = [String: Int]()
        for _ in 0..<Int(tensorCount) {
            let infoOffset = reader.offset
            let name = try Self.readString(&reader, what: "tensor name")
            guard tensorIndex[name] == nil else { throw FormatError.duplicateTensor(name: name) }
            let dimensionCount = try reader.readUInt32("dimension count of '\(name)'")
            guard (1...4).contains(dimensionCount) else {
                throw FormatError.invalidTensor(name: name, reason: "\(dimensionCount) dimensions at byte \(infoOffset) (1 to 4 allowed)")
            }
            var dimensions = [Int]()
            var count = 1
            for _ in 0..<dimensionCount {
                let dimension = try reader.readUInt64("dimension of '\(name)'")
                guard dimension <= 1 << 40 else { throw FormatError.invalidTensor(name: name, reason: "dimension \(dimension) is too large") }
                let (product, overflow) = count.multipliedReportingOverflow(by: Int(dimension))
                guard !overflow, product <= 1 << 40 else { throw FormatError.invalidTensor(name: name, reason: "element count overflows") }
                count = product
                dimensions.append(Int(dimension))
            }
            let rawType = try reader.readUInt32("type of '\(name)'")
            guard let type = GGMLType(rawValue: rawType) else {
                throw FormatError.unsupportedDType(name: name, dtype: "ggml type \(rawType)")
            }
            guard dimensions[0] % type.blockSize == 0 else {
                throw FormatError.invalidTensor(
                    name: name, reason: "inner dimension \(dimensions[0]) is not a multiple of the \(type.name) block size \(type.blockSize)")
            }
            let offset = try reader.readUInt64("data offset of '\(name)'")
            guard offset <= UInt64(file.count), Int(offset) % alignment == 0 else {
                throw FormatError.invalidTensor(name: name, reason: "data offset \(offset) is outside the file or not \(alignment)-aligned")
            }
            tensorIndex[name] = pending.count
            pending.append(Pending(name: name, dimensions: dimensions, type: type, offset: Int(offset), count: count, infoOffset: infoOffset))
        }
        let dataStart = (reader.offset + alignment - 1) / alignment * alignment
        var tensors = [GGUFTensorInfo]()
        for item in pending {
            let bytes = item.count / item.type.blockSize * item.type.blockBytes
            let start = dataStart + item.offset
            guard start <= file.count, bytes <= file.count - start else {
                throw FormatError.truncated(what: "\(path): data of tensor '\(item.name)'", offset: start, needed: bytes,
                                            available: max(0, file.count - start))
            }
            tensors.append(GGUFTensorInfo(
                name: item.name, dimensions: item.dimensions, type: item.type, byteRange: start..<(start + bytes),
                elementCount: item.count))
        }
        let sorted = tensors.sorted { $0.byteRange.lowerBound < $1.byteRange.lowerBound }
        for (previous, next) in zip(sorted, sorted.dropFirst())
        where next.byteRange.lowerBound < previous.byteRange.upperBound && !next.byteRange.isEmpty {
            throw FormatError.invalidTensor(name: next.name, reason: "its data overlaps tensor '\(previous.name)'")
        }
        self.tensors = tensors
        self.tensorIndex = tensorIndex
    }

    private static func readString(_ reader: inout ByteReader, what: String) throws -> String {
        let start = reader.offset
        let length = try reader.readUInt64("length of \(what)")
        guard length <= UInt64(min(reader.remaining, maximumStringLength)) else {
            throw FormatError.truncated(what: "\(reader.context): \(what)", offset: start, needed: Int(clamping: length),
                                        available: reader.remaining)
        }
        let bytes = try reader.readBytes(Int(length), what)
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func readValue(_ reader: inout ByteReader, type: UInt32, key: String, depth: Int) throws -> GGUFValue {
        let what = "value of '\(key)'"
        switch type {
        case 0: return .uint8(try reader.readUInt8(what))
        case 1: return .int8(try reader.readInt8(what))
        case 2: return .uint16(try reader.readUInt16(what))
        case 3: return .int16(try reader.readInt16(what))
        case 4: return .uint32(try reader.readUInt32(what))
        case 5: return .int32(try reader.readInt32(what))
        case 6: return .float32(try reader.readFloat32(what))
        case 7:
            let offset = reader.offset
            let byte = try reader.readUInt8(what)
            guard byte <= 1 else {
                throw FormatError.invalidHeader(file: reader.context, reason: "bool '\(key)' has value \(byte) at byte \(offset)")
            }
            return .bool(byte == 1)
        case 8: return .string(try readString(&reader, what: what))
        case 9:
            let offset = reader.offset
            guard depth < 4 else {
                throw FormatError.invalidHeader(file: reader.context, reason: "arrays nested too deeply in '\(key)' at byte \(offset)")
            }
            let elementType = try reader.readUInt32("array type of '\(key)'")
            let count = try reader.readUInt64("array length of '\(key)'")
            let minimumSize: UInt64 = [1, 1, 2, 2, 4, 4, 4, 1, 8, 12, 8, 8, 8][Int(min(elementType, 12))]
            guard elementType <= 12, count <= UInt64(maximumArrayCount), count * minimumSize <= UInt64(reader.remaining) else {
                throw FormatError.invalidHeader(
                    file: reader.context,
                    reason: "array '\(key)' of \(count) elements of type \(elementType) at byte \(offset) does not fit in the file")
            }
            var values = [GGUFValue]()
            values.reserveCapacity(Int(count))
            for _ in 0..<Int(count) {
                values.append(try readValue(&reader, type: elementType, key: key, depth: depth + 1))
            }
            return .array(values)
        case 10: return .uint64(try reader.readUInt64(what))
        case 11: return .int64(try reader.readInt64(what))
        case 12: return .float64(try reader.readFloat64(what))
        default:
            throw FormatError.invalidHeader(file: reader.context, reason: "unknown value type \(type) for '\(key)' at byte \(reader.offset - 4)")
        }
    }

    /// The metadata value for `key`.
    public subscript(key: String) -> GGUFValue? { metadataIndex[key].map { metadata[$0].value } }

    /// The tensor named `name`.
    public func tensor(_ name: String) -> GGUFTensorInfo? { tensorIndex[name].map { tensors[$0] } }

    /// Dequantizes tensor `name` into `destination` (element count must match).
    public func readFloats(_ name: String, into destination: UnsafeMutableBufferPointer<Float>) throws {
        guard let info = tensor(name) else { throw FormatError.missingTensor(name: name) }
        guard info.type.canDequantize else {
            throw FormatError.unsupportedDType(name: name, dtype: "\(info.type.name) (cannot be dequantized)")
        }
        guard destination.count == info.elementCount, let out = destination.baseAddress else {
            throw FormatError.shapeMismatch(name: name, expected: [destination.count], actual: info.shape)
        }
        GGUFDequantizer.dequantize(info.type, from: file.bytes.baseAddress! + info.byteRange.lowerBound,
                                   count: info.elementCount, into: out)
    }

    /// Tensor `name` dequantized to a Float array.
    public func floats(_ name: String) throws -> [Float] {
        guard let info = tensor(name) else { throw FormatError.missingTensor(name: name) }
        var result = [Float](repeating: 0, count: info.elementCount)
        try result.withUnsafeMutableBufferPointer { try readFloats(name, into: $0) }
        return result
    }

    /// The raw bytes of tensor `name` (for tests and re-export).
    public func rawBytes(_ name: String) -> UnsafeRawBufferPointer? {
        tensor(name).map { UnsafeRawBufferPointer(rebasing: file.bytes[$0.byteRange]) }
    }
}
