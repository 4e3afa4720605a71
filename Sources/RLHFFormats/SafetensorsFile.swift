import RLHFTensor

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Element types of safetensors files.
public enum SafetensorsDType: String, Sendable, CaseIterable {
    /// IEEE floats of 64, 32 and 16 bits, and bfloat16; signed integers; unsigned bytes; booleans (one byte each).
    case f64 = "F64", f32 = "F32", f16 = "F16", bf16 = "BF16"
    case i64 = "I64", i32 = "I32", i16 = "I16", i8 = "I8", u8 = "U8", bool = "BOOL"

    /// Bytes per element.
    public var byteSize: Int {
        switch self {
        case .f64, .i64: return 8
        case .f32, .i32: return 4
        case .f16, .bf16, .i16: return 2
        case .i8, .u8, .bool: return 1
        }
    }

    /// Whether ``SafetensorsFile/floats(_:)`` can read this type.
    public var isFloatingPoint: Bool { self == .f64 || self == .f32 || self == .f16 || self == .bf16 }
}

/// One tensor's entry in a safetensors header.
public struct SafetensorsTensorInfo: Sendable, Equatable {
    /// The tensor's name (its key in the header).
    public let name: String
    /// The element type.
    public let dtype: SafetensorsDType
    /// Row-major shape ([] for a scalar).
    public let shape: [Int]
    /// Absolute byte range in the file.
    public let byteRange: Range<Int>
    /// Product of the shape (1 for a scalar).
    public let elementCount: Int
}

/// A safetensors file, memory-mapped and validated on open.
///
/// Format: a little-endian u64 header length N, N bytes of JSON mapping each tensor name to
/// `{"dtype", "shape", "data_offsets": [begin, end]}` (offsets relative to byte 8 + N) plus an
/// optional `"__metadata__"` string map, then the data. Opening checks, before any tensor is read:
/// the header length (at most the rest of the file and ``maximumHeaderLength``), the JSON (strict,
/// UTF-8, no duplicate keys, bounded nesting), each dtype, shapes (non-negative, at most
/// ``maximumRank`` dimensions, no overflow), that each byte size equals the element count times the
/// element size, that every range lies in the data section, and that no two ranges overlap. Gaps
/// between tensors are tolerated. Errors name the file, the tensor and the byte offset.
public final class SafetensorsFile: @unchecked Sendable {
    /// The path the file was opened with.
    public let path: String
    /// The `__metadata__` map (empty when absent).
    public let metadata: [String: String]
    /// Tensors sorted by data offset (then name).
    public let tensors: [SafetensorsTensorInfo]
    private let file: MappedFile
    private let index: [String: Int]

    /// The largest JSON header accepted (100 MB, as the reference implementation), so a hostile
    /// length cannot force a huge read.
    public static let maximumHeaderLength = 100_000_000
    /// The most dimensions a tensor may have.
    public static let maximumRank = 64

    /// Maps and validates the file at `path`; throws ``FormatError`` when it is not a valid safetensors file.
    public init(path: String) throws {
        self.path = path
        file = try MappedFile(path: path)
        var reader = ByteReader(file.bytes, context: path)
        let declared = try reader.readUInt64("safetensors header length")
        guard declared <= UInt64(min(reader.remaining, Self.maximumHeaderLength)) else {
            throw FormatError.invalidHeader(
                file: path,
                reason: "header length \(declared) (at byte 0) exceeds the \(reader.remaining) bytes after it"
                    + (declared > UInt64(Self.maximumHeaderLength) ? " and the \(Self.maximumHeaderLength)-byte limit" : ""))
        }
        let headerLength = Int(declared)
        let header = try reader.readBytes(headerLength, "JSON header")
        let dataStart = 8 + headerLength
        let dataCount = file.count - dataStart

        var parser = HeaderParser(bytes: header, base: 8, file: path)
        let parsed = try parser.parseHeader()

        var tensors = [SafetensorsTensorInfo]()
        tensors.reserveCapacity(parsed.entries.count)
        for entry in parsed.entries {
            let name = entry.name
            let location = "\(path), header entry at byte \(entry.headerOffset)"
            guard let dtype = SafetensorsDType(rawValue: entry.dtype) else {
                throw FormatError.unsupportedDType(name: name, dtype: entry.dtype)
            }
            guard entry.shape.allSatisfy({ $0 >= 0 }) else {
                throw FormatError.invalidTensor(name: name, reason: "negative dimension in shape \(entry.shape) (\(location))")
            }
            var count = 1
            for dimension in entry.shape {
                let (product, overflow) = count.multipliedReportingOverflow(by: dimension)
                guard !overflow else {
                    throw FormatError.invalidTensor(name: name, reason: "shape \(entry.shape) overflows (\(location))")
                }
                count = product
            }
            let offsets = entry.dataOffsets
            guard offsets.count == 2, offsets[0] >= 0, offsets[0] <= offsets[1] else {
                throw FormatError.invalidTensor(
                    name: name, reason: "data_offsets \(offsets) are not [begin, end] with 0 ≤ begin ≤ end (\(location))")
            }
            guard offsets[1] <= dataCount else {
                throw FormatError.invalidTensor(
                    name: name,
                    reason: "data_offsets \(offsets) (bytes \(dataStart + offsets[0])..<\(dataStart + offsets[1])) run past the end "
                        + "of the \(dataCount)-byte data section at byte \(dataStart) (\(location))")
            }
            let (byteCount, overflow) = count.multipliedReportingOverflow(by: dtype.byteSize)
            guard !overflow, offsets[1] - offsets[0] == byteCount else {
                throw FormatError.invalidTensor(
                    name: name,
                    reason: "data_offsets \(offsets) span \(offsets[1] - offsets[0]) bytes but shape \(entry.shape) of "
                        + "\(dtype.rawValue) needs \(overflow ? "more than \(Int.max)" : String(byteCount)) (\(location))")
            }
            tensors.append(SafetensorsTensorInfo(
                name: name, dtype: dtype, shape: entry.shape,
                byteRange: (dataStart + offsets[0])..<(dataStart + offsets[1]), elementCount: count))
        }
        tensors.sort {
            ($0.byteRange.lowerBound, $0.byteRange.upperBound, $0.name) < ($1.byteRange.lowerBound, $1.byteRange.upperBound, $1.name)
        }
        // Overlap: with ranges sorted by start, a non-empty range overlaps an earlier one exactly
        // when it starts before the furthest end seen so far among non-empty ranges.
        var furthest: SafetensorsTensorInfo?
        for tensor in tensors where !tensor.byteRange.isEmpty {
            if let previous = furthest, tensor.byteRange.lowerBound < previous.byteRange.upperBound {
                throw FormatError.invalidTensor(
                    name: tensor.name,
                    reason: "its data (bytes \(tensor.byteRange.lowerBound)..<\(tensor.byteRange.upperBound)) overlaps tensor "
                        + "'\(previous.name)' (bytes \(previous.byteRange.lowerBound)..<\(previous.byteRange.upperBound)) in \(path)")
            }
            if tensor.byteRange.upperBound > (furthest?.byteRange.upperBound ?? 0) { furthest = tensor }
        }
        self.metadata = parsed.metadata
        self.tensors = tensors
        var index = [String: Int](minimumCapacity: tensors.count)
        for (i, tensor) in tensors.enumerated() { index[tensor.name] = i }
        self.index = index
    }

    /// The entry for `name`, if present.
    public func info(_ name: String) -> SafetensorsTensorInfo? { index[name].map { tensors[$0] } }

    private func require(_ name: String) throws -> SafetensorsTensorInfo {
        guard let info = info(name) else { throw FormatError.missingTensor(name: name) }
        return info
    }

    /// The raw little-endian bytes of a tensor (valid while this object is alive).
    private func data(_ info: SafetensorsTensorInfo) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: file.bytes[info.byteRange])
    }

    /// Reads a floating-point tensor (F32, F16, BF16 or F64) into `destination`, converting to Float;
    /// `destination.count` must equal the element count (else `shapeMismatch`).
    public func readFloats(_ name: String, into destination: UnsafeMutableBufferPointer<Float>) throws {
        let info = try require(name)
        guard info.dtype.isFloatingPoint else {
            throw FormatError.unsupportedDType(name: name, dtype: "\(info.dtype.rawValue) (expected a floating-point tensor)")
        }
        guard destination.count == info.elementCount else {
            throw FormatError.shapeMismatch(name: name, expected: [destination.count], actual: info.shape)
        }
        let source = data(info)
        guard let out = destination.baseAddress, let input = source.baseAddress, info.elementCount > 0 else { return }
        let n = info.elementCount
        switch info.dtype {
        case .f32:
            #if _endian(little)
            UnsafeMutableRawPointer(out).copyMemory(from: input, byteCount: 4 * n)
            #else
            for i in 0..<n { out[i] = Float(bitPattern: UInt32(littleEndian: input.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))) }
            #endif
        case .f16: HalfPrecision.convertFloat16(input, into: out, count: n)
        case .bf16: HalfPrecision.convertBFloat16(input, into: out, count: n)
        case .f64:
            for i in 0..<n {
                out[i] = Float(Double(bitPattern: UInt64(littleEndian: input.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self))))
            }
        case .i64, .i32, .i16, .i8, .u8, .bool:
            break  // rejected above
        }
    }

    /// A floating-point tensor (F32, F16, BF16 or F64) as a Float array.
    public func floats(_ name: String) throws -> [Float] {
        let info = try require(name)
        guard info.dtype.isFloatingPoint else {
            throw FormatError.unsupportedDType(name: name, dtype: "\(info.dtype.rawValue) (expected a floating-point tensor)")
        }
        // elementCount is bounded by the file size, so this allocation is too.
        var result = [Float](repeating: 0, count: info.elementCount)
        try result.withUnsafeMutableBufferPointer { try readFloats(name, into: $0) }
        return result
    }

    /// An integer tensor (I64, I32, I16, I8, U8, or BOOL as 0/1) as Ints.
    public func integers(_ name: String) throws -> [Int] {
        let info = try require(name)
        let source = data(info)
        let n = info.elementCount
        switch info.dtype {
        case .i64: return (0..<n).map { Int(Int64(littleEndian: source.loadUnaligned(fromByteOffset: 8 * $0, as: Int64.self))) }
        case .i32: return (0..<n).map { Int(Int32(littleEndian: source.loadUnaligned(fromByteOffset: 4 * $0, as: Int32.self))) }
        case .i16: return (0..<n).map { Int(Int16(littleEndian: source.loadUnaligned(fromByteOffset: 2 * $0, as: Int16.self))) }
        case .i8: return (0..<n).map { Int(Int8(bitPattern: source[$0])) }
        case .u8, .bool: return (0..<n).map { Int(source[$0]) }
        case .f64, .f32, .f16, .bf16:
            throw FormatError.unsupportedDType(name: name, dtype: "\(info.dtype.rawValue) (expected an integer tensor)")
        }
    }
}

// MARK: - Header JSON

/// One tensor entry as written in the header, before validation.
private struct RawTensorEntry {
    let name: String
    let headerOffset: Int
    let dtype: String
    let shape: [Int]
    let dataOffsets: [Int]
}

/// A strict JSON parser specialised to the safetensors header. Unlike a general decoder it
/// rejects duplicate keys, reports absolute byte offsets, bounds nesting depth and array lengths
/// (so hostile input cannot exhaust the stack or memory), and builds values only for the fields it
/// uses (unknown fields are validated and skipped).
private struct HeaderParser {
    let bytes: UnsafeRawBufferPointer
    /// Absolute file offset of `bytes[0]`.
    let base: Int
    let file: String
    var position = 0

    static let maximumDepth = 64

    init(bytes: UnsafeRawBufferPointer, base: Int, file: String) {
        self.bytes = bytes
        self.base = base
        self.file = file
    }

    /// Absolute offset of the next byte.
    var absolute: Int { base + position }

    func fail(_ what: String, at absoluteOffset: Int? = nil) -> FormatError {
        .invalidHeader(file: file, reason: "JSON at byte \(absoluteOffset ?? absolute): \(what)")
    }

    /// The next byte after whitespace, without consuming it; nil at the end.
    mutating func peek() -> UInt8? {
        while position < bytes.count {
            switch bytes[position] {
            case 0x20, 0x09, 0x0A, 0x0D: position += 1
            default: return bytes[position]
            }
        }
        return nil
    }

    mutating func expect(_ byte: UInt8, _ context: String) throws {
        guard peek() == byte else {
            throw fail("expected '\(Character(Unicode.Scalar(byte)))' \(context), found \(describeNext())")
        }
        position += 1
    }

    mutating func describeNext() -> String {
        guard let next = peek() else { return "the end of the header" }
        if next >= 0x21 && next < 0x7F { return "'\(Character(Unicode.Scalar(next)))'" }
        return "byte 0x\(String(next, radix: 16))"
    }

    // MARK: Structure

    /// Parses `{ "key": value, ... }`, calling `member` with the key and its absolute offset while
    /// positioned at the value (which `member` must consume).
    mutating func parseObject(_ context: String, _ member: (inout HeaderParser, String, Int) throws -> Void) throws {
        try expect(0x7B, context)
        if peek() == 0x7D {
            position += 1
            return
        }
        while true {
            guard peek() == 0x22 else { throw fail("expected a string key \(context), found \(describeNext())") }
            let keyOffset = absolute
            let key = try parseString()
            try expect(0x3A, "after key \"\(key)\"")
            try member(&self, key, keyOffset)
            switch peek() {
            case 0x2C: position += 1
            case 0x7D:
                position += 1
                return
            default: throw fail("expected ',' or '}' \(context), found \(describeNext())")
            }
        }
    }

    /// Parses `[ value, ... ]`, calling `element` while positioned at each element.
    mutating func parseArray(_ context: String, _ element: (inout HeaderParser) throws -> Void) throws {
        try expect(0x5B, context)
        if peek() == 0x5D {
            position += 1
            return
        }
        while true {
            try element(&self)
            switch peek() {
            case 0x2C: position += 1
            case 0x5D:
                position += 1
                return
            default: throw fail("expected ',' or ']' \(context), found \(describeNext())")
            }
        }
    }

    // MARK: Scalars

    /// Parses a string literal (escapes, surrogate pairs, UTF-8 validated).
    mutating func parseString() throws -> String {
        guard peek() == 0x22 else { throw fail("expected a string, found \(describeNext())") }
        let start = absolute
        position += 1
        var decoded = [UInt8]()
        var escaped = false
        var runStart = position
        while true {
            guard position < bytes.count else { throw fail("unterminated string", at: start) }
            let byte = bytes[position]
            if byte == 0x22 { break }
            if byte < 0x20 { throw fail("unescaped control character 0x\(String(byte, radix: 16)) in a string") }
            if byte != 0x5C {
                position += 1
                continue
            }
            escaped = true
            decoded.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[runStart..<position]))
            position += 1
            guard position < bytes.count else { throw fail("unterminated string", at: start) }
            let escape = bytes[position]
            position += 1
            switch escape {
            case 0x22, 0x5C, 0x2F: decoded.append(escape)
            case 0x62: decoded.append(0x08)
            case 0x66: decoded.append(0x0C)
            case 0x6E: decoded.append(0x0A)
            case 0x72: decoded.append(0x0D)
            case 0x74: decoded.append(0x09)
            case 0x75:
                var scalar = try parseHex4()
                if (0xD800..<0xDC00).contains(scalar) {
                    guard position + 1 < bytes.count, bytes[position] == 0x5C, bytes[position + 1] == 0x75 else {
                        throw fail("unpaired surrogate \\u\(String(scalar, radix: 16)) in a string")
                    }
                    position += 2
                    let low = try parseHex4()
                    guard (0xDC00..<0xE000).contains(low) else { throw fail("invalid surrogate pair in a string") }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                } else if (0xDC00..<0xE000).contains(scalar) {
                    throw fail("unpaired surrogate \\u\(String(scalar, radix: 16)) in a string")
                }
                guard let unicode = Unicode.Scalar(scalar) else { throw fail("invalid \\u escape") }
                decoded.append(contentsOf: String(unicode).utf8)
            default:
                throw fail("invalid escape '\\\(Character(Unicode.Scalar(escape)))' in a string", at: absolute - 2)
            }
            runStart = position
        }
        let end = position
        position += 1  // closing quote
        let text: String?
        if !escaped {
            text = String(validating: UnsafeRawBufferPointer(rebasing: bytes[runStart..<end]), as: UTF8.self)
        } else {
            decoded.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[runStart..<end]))
            text = String(validating: decoded, as: UTF8.self)
        }
        guard let text else { throw fail("string is not valid UTF-8", at: start) }
        return text
    }

    mutating func parseHex4() throws -> UInt32 {
        guard position + 4 <= bytes.count else { throw fail("truncated \\u escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[position]
            let digit: UInt32
            switch byte {
            case 0x30...0x39: digit = UInt32(byte - 0x30)
            case 0x41...0x46: digit = UInt32(byte - 0x41 + 10)
            case 0x61...0x66: digit = UInt32(byte - 0x61 + 10)
            default: throw fail("invalid hex digit in a \\u escape")
            }
            value = value << 4 | digit
            position += 1
        }
        return value
    }

    /// Parses a JSON integer (no fraction or exponent) that fits in an Int.
    mutating func parseInteger(_ what: String) throws -> Int {
        guard let first = peek() else { throw fail("expected an integer for \(what), found the end of the header") }
        let start = absolute
        var negative = false
        if first == 0x2D {
            negative = true
            position += 1
        }
        var value = 0
        var digits = 0
        while position < bytes.count, case 0x30...0x39 = bytes[position] {
            if digits == 1 && value == 0 { throw fail("leading zero in \(what)", at: start) }
            let digit = Int(bytes[position] - 0x30)
            let (scaled, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = negative ? scaled.subtractingReportingOverflow(digit) : scaled.addingReportingOverflow(digit)
            guard !overflow1, !overflow2 else { throw fail("\(what) does not fit in 64 bits", at: start) }
            value = sum
            digits += 1
            position += 1
        }
        guard digits > 0 else { throw fail("expected an integer for \(what), found \(describeNext())", at: start) }
        if position < bytes.count, [0x2E, 0x65, 0x45].contains(bytes[position]) {
            throw fail("\(what) must be an integer", at: start)
        }
        return value
    }

    /// Validates and skips any JSON value.
    mutating func skipValue(depth: Int) throws {
        guard depth <= Self.maximumDepth else { throw fail("nesting deeper than \(Self.maximumDepth) levels") }
        switch peek() {
        case 0x7B?: try parseObject("in an object") { parser, _, _ in try parser.skipValue(depth: depth + 1) }
        case 0x5B?: try parseArray("in an array") { parser in try parser.skipValue(depth: depth + 1) }
        case 0x22?: _ = try parseString()
        case 0x74?: try skipLiteral("true")
        case 0x66?: try skipLiteral("false")
        case 0x6E?: try skipLiteral("null")
        case 0x2D?, (0x30...0x39)?: try skipNumber()
        default: throw fail("expected a value, found \(describeNext())")
        }
    }

    mutating func skipLiteral(_ literal: StaticString) throws {
        let count = literal.utf8CodeUnitCount
        let matches = position + count <= bytes.count
            && literal.withUTF8Buffer { expected in (0..<count).allSatisfy { bytes[position + $0] == expected[$0] } }
        guard matches else { throw fail("invalid literal") }
        position += count
    }

    /// Skips a number, checking the JSON grammar -?(0|[1-9]d*)(.d+)?([eE][+-]?d+)?.
    mutating func skipNumber() throws {
        let start = absolute
        func digits(_ parser: inout HeaderParser) -> Int {
            var n = 0
            while parser.position < parser.bytes.count, case 0x30...0x39 = parser.bytes[parser.position] {
                parser.position += 1
                n += 1
            }
            return n
        }
        if position < bytes.count, bytes[position] == 0x2D { position += 1 }
        let leadingZero = position < bytes.count && bytes[position] == 0x30
        let integerDigits = digits(&self)
        guard integerDigits > 0, !(leadingZero && integerDigits > 1) else { throw fail("invalid number", at: start) }
        if position < bytes.count, bytes[position] == 0x2E {
            position += 1
            guard digits(&self) > 0 else { throw fail("invalid number", at: start) }
        }
        if position < bytes.count, bytes[position] == 0x65 || bytes[position] == 0x45 {
            position += 1
            if position < bytes.count, bytes[position] == 0x2B || bytes[position] == 0x2D { position += 1 }
            guard digits(&self) > 0 else { throw fail("invalid number", at: start) }
        }
    }

    // MARK: Safetensors

    /// The whole header: tensor entries in file order of their keys, and the metadata map.
    mutating func parseHeader() throws -> (entries: [RawTensorEntry], metadata: [String: String]) {
        var entries = [RawTensorEntry]()
        var metadata: [String: String]?
        var names = Set<String>()
        guard peek() == 0x7B else { throw fail("the header is not a JSON object (found \(describeNext()))") }
        try parseObject("at the top level") { parser, key, keyOffset in
            if key == "__metadata__" {
                guard metadata == nil else { throw parser.fail("second \"__metadata__\"", at: keyOffset) }
                metadata = try parser.parseMetadata()
            } else {
                guard names.insert(key).inserted else { throw FormatError.duplicateTensor(name: key) }
                entries.append(try parser.parseTensorEntry(name: key, keyOffset: keyOffset))
            }
        }
        guard peek() == nil else { throw fail("unexpected \(describeNext()) after the header object") }
        return (entries, metadata ?? [:])
    }

    /// `"__metadata__"`: an object of strings (or null).
    mutating func parseMetadata() throws -> [String: String] {
        if peek() == 0x6E {
            try skipLiteral("null")
            return [:]
        }
        var map = [String: String]()
        guard peek() == 0x7B else { throw fail("\"__metadata__\" is not an object of strings") }
        try parseObject("in \"__metadata__\"") { parser, key, keyOffset in
            guard parser.peek() == 0x22 else {
                throw parser.fail("\"__metadata__\" value for \"\(key)\" is not a string")
            }
            let value = try parser.parseString()
            guard map.updateValue(value, forKey: key) == nil else {
                throw parser.fail("duplicate \"__metadata__\" key \"\(key)\"", at: keyOffset)
            }
        }
        return map
    }

    /// One tensor's `{"dtype", "shape", "data_offsets"}` object (other fields are skipped).
    mutating func parseTensorEntry(name: String, keyOffset: Int) throws -> RawTensorEntry {
        let location = "\(file), header entry at byte \(keyOffset)"
        guard peek() == 0x7B else {
            throw FormatError.invalidTensor(name: name, reason: "entry is not an object (\(location))")
        }
        var dtype: String?
        var shape: [Int]?
        var offsets: [Int]?
        func duplicate(_ field: String) -> FormatError {
            .invalidTensor(name: name, reason: "\"\(field)\" appears twice (\(location))")
        }
        try parseObject("in the entry of tensor \"\(name)\"") { parser, key, _ in
            switch key {
            case "dtype":
                guard dtype == nil else { throw duplicate(key) }
                guard parser.peek() == 0x22 else {
                    throw FormatError.invalidTensor(
                        name: name, reason: "\"dtype\" at byte \(parser.absolute) is not a string (\(location))")
                }
                dtype = try parser.parseString()
            case "shape":
                guard shape == nil else { throw duplicate(key) }
                shape = try parser.parseIntegers(key, limit: SafetensorsFile.maximumRank, tensor: name, location: location)
            case "data_offsets":
                guard offsets == nil else { throw duplicate(key) }
                offsets = try parser.parseIntegers(key, limit: 2, tensor: name, location: location)
            default:
                try parser.skipValue(depth: 3)
            }
        }
        guard let dtype, let shape, let offsets else {
            let missing = [("dtype", dtype == nil), ("shape", shape == nil), ("data_offsets", offsets == nil)]
                .filter(\.1).map { "\"\($0.0)\"" }.joined(separator: ", ")
            throw FormatError.invalidTensor(name: name, reason: "entry lacks \(missing) (\(location))")
        }
        return RawTensorEntry(name: name, headerOffset: keyOffset, dtype: dtype, shape: shape, dataOffsets: offsets)
    }

    /// An array of at most `limit` integers.
    mutating func parseIntegers(_ field: String, limit: Int, tensor: String, location: String) throws -> [Int] {
        guard peek() == 0x5B else {
            throw FormatError.invalidTensor(name: tensor, reason: "\"\(field)\" at byte \(absolute) is not an array (\(location))")
        }
        var values = [Int]()
        try parseArray("in \"\(field)\"") { parser in
            guard values.count < limit else {
                throw FormatError.invalidTensor(name: tensor, reason: "\"\(field)\" has more than \(limit) entries (\(location))")
            }
            values.append(try parser.parseInteger("\"\(field)\" of tensor \"\(tensor)\""))
        }
        return values
    }
}
