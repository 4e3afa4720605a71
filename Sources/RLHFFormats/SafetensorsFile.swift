import RLHFTensor

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Element types of safetensors files.
public enum SafetensorsDType: String, Sendable, CaseIterable {
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
}

/// One tensor's entry in a safetensors header.
public struct SafetensorsTensorInfo: Sendable, Equatable {
    public let name: String
    public let dtype: SafetensorsDType
    /// Row-major shape ([] for a scalar).
    public let shape: [Int]
    /// Absolute byte range in the file.
    public let byteRange: Range<Int>
    /// Product of the shape.
    public let elementCount: Int
}

/// A safetensors file, memory-mapped and validated on open.
///
/// Format: a little-endian u64 header length N, N bytes of JSON mapping each tensor name to
/// `{"dtype", "shape", "data_offsets": [begin, end]}` (offsets relative to byte 8 + N) plus an
/// optional `"__metadata__"` string map, then the data. Opening checks the header length, JSON,
/// dtypes, shape products against byte sizes, bounds and overlaps before any tensor is read.
public final class SafetensorsFile: @unchecked Sendable {
    public let path: String
    /// The `__metadata__` map.
    public let metadata: [String: String]
    /// Tensors sorted by data offset.
    public let tensors: [SafetensorsTensorInfo]
    private let file: MappedFile
    private let index: [String: Int]

    /// The largest JSON header accepted (100 MB), so a hostile length cannot force a huge read.
    public static let maximumHeaderLength = 100_000_000

    public init(path: String) throws {
        self.path = path
        file = try MappedFile(path: path)
        var reader = ByteReader(file.bytes, context: path)
        let declared = try reader.readUInt64("header length")
        guard declared <= UInt64(min(reader.remaining, Self.maximumHeaderLength)) else {
            throw FormatError.invalidHeader(
                file: path, reason: "header length \(declared) exceeds the \(reader.remaining) bytes after it (or the 100 MB limit)")
        }
        let headerLength = Int(declared)
        let header = try reader.readBytes(headerLength, "JSON header")
        let dataStart = 8 + headerLength
        let dataCount = file.count - dataStart

        let entries: [String: HeaderEntry]
        do {
            entries = try JSONDecoder().decode(Header.self, from: Data(header)).entries
        } catch let error as FormatError {
            throw error
        } catch {
            throw FormatError.invalidHeader(file: path, reason: "malformed JSON (\(error))")
        }
        var metadata = [String: String]()
        var tensors = [SafetensorsTensorInfo]()
        for (name, entry) in entries {
            switch entry {
            case let .metadata(map): metadata = map
            case let .tensor(dtypeName, shape, offsets):
                guard let dtype = SafetensorsDType(rawValue: dtypeName) else {
                    throw FormatError.unsupportedDType(name: name, dtype: dtypeName)
                }
                guard shape.allSatisfy({ $0 >= 0 }) else { throw FormatError.invalidTensor(name: name, reason: "negative dimension in \(shape)") }
                var count = 1
                for dimension in shape {
                    let (product, overflow) = count.multipliedReportingOverflow(by: dimension)
                    guard !overflow, product <= Int(Int32.max) * 64 else {
                        throw FormatError.invalidTensor(name: name, reason: "shape \(shape) is too large")
                    }
                    count = product
                }
                guard offsets.count == 2, offsets[0] >= 0, offsets[0] <= offsets[1] else {
                    throw FormatError.invalidTensor(name: name, reason: "data_offsets \(offsets) are not [begin, end] with begin ≤ end")
                }
                guard offsets[1] <= dataCount else {
                    throw FormatError.invalidTensor(
                        name: name, reason: "data_offsets \(offsets) run past the end of the data (\(dataCount) bytes at byte \(dataStart))")
                }
                guard offsets[1] - offsets[0] == count * dtype.byteSize else {
                    throw FormatError.invalidTensor(
                        name: name, reason: "\(offsets[1] - offsets[0]) bytes for shape \(shape) of \(dtype.rawValue) (expected \(count * dtype.byteSize))")
                }
                tensors.append(SafetensorsTensorInfo(
                    name: name, dtype: dtype, shape: shape,
                    byteRange: (dataStart + offsets[0])..<(dataStart + offsets[1]), elementCount: count))
            }
        }
        tensors.sort { ($0.byteRange.lowerBound, $0.byteRange.upperBound) < ($1.byteRange.lowerBound, $1.byteRange.upperBound) }
        for (previous, next) in zip(tensors, tensors.dropFirst()) where next.byteRange.lowerBound < previous.byteRange.upperBound {
            if !previous.byteRange.isEmpty && !next.byteRange.isEmpty {
                throw FormatError.invalidTensor(name: next.name, reason: "its data overlaps tensor '\(previous.name)'")
            }
        }
        self.metadata = metadata
        self.tensors = tensors
        var index = [String: Int]()
        for (i, tensor) in tensors.enumerated() { index[tensor.name] = i }
        self.index = index
    }

    /// The entry for `name`, if present.
    public func info(_ name: String) -> SafetensorsTensorInfo? { index[name].map { tensors[$0] } }

    private func require(_ name: String) throws -> SafetensorsTensorInfo {
        guard let info = info(name) else { throw FormatError.missingTensor(name: name) }
        return info
    }

    /// Reads a floating-point tensor (F32, F16, BF16 or F64) into `destination`, converting to Float.
    public func readFloats(_ name: String, into destination: UnsafeMutableBufferPointer<Float>) throws {
        let info = try require(name)
        guard destination.count == info.elementCount else {
            throw FormatError.shapeMismatch(name: name, expected: [destination.count], actual: info.shape)
        }
        guard let out = destination.baseAddress, info.elementCount > 0 else { return }
        let source = file.bytes.baseAddress! + info.byteRange.lowerBound
        switch info.dtype {
        case .f32:
            if Int(bitPattern: source) % 4 == 0 {
                out.update(from: source.assumingMemoryBound(to: Float.self), count: info.elementCount)
            } else {
                for i in 0..<info.elementCount {
                    out[i] = Float(bitPattern: UInt32(littleEndian: source.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
                }
            }
        case .f16: HalfPrecision.convertFloat16(source, into: out, count: info.elementCount)
        case .bf16: HalfPrecision.convertBFloat16(source, into: out, count: info.elementCount)
        case .f64:
            for i in 0..<info.elementCount {
                out[i] = Float(Double(bitPattern: UInt64(littleEndian: source.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self))))
            }
        default:
            throw FormatError.unsupportedDType(name: name, dtype: "\(info.dtype.rawValue) (expected a floating-point tensor)")
        }
    }

    /// A floating-point tensor as a Float array.
    public func floats(_ name: String) throws -> [Float] {
        let info = try require(name)
        var result = [Float](repeating: 0, count: info.elementCount)
        try result.withUnsafeMutableBufferPointer { try readFloats(name, into: $0) }
        return result
    }

    /// An integer tensor (I64, I32, I16, I8, U8, BOOL) as Ints.
    public func integers(_ name: String) throws -> [Int] {
        let info = try require(name)
        let source = UnsafeRawBufferPointer(rebasing: file.bytes[info.byteRange])
        let n = info.elementCount
        switch info.dtype {
        case .i64: return (0..<n).map { Int(Int64(littleEndian: source.loadUnaligned(fromByteOffset: 8 * $0, as: Int64.self))) }
        case .i32: return (0..<n).map { Int(Int32(littleEndian: source.loadUnaligned(fromByteOffset: 4 * $0, as: Int32.self))) }
        case .i16: return (0..<n).map { Int(Int16(littleEndian: source.loadUnaligned(fromByteOffset: 2 * $0, as: Int16.self))) }
        case .i8: return (0..<n).map { Int(source.loadUnaligned(fromByteOffset: $0, as: Int8.self)) }
        case .u8, .bool: return (0..<n).map { Int(source[$0]) }
        default: throw FormatError.unsupportedDType(name: name, dtype: "\(info.dtype.rawValue) (expected an integer tensor)")
        }
    }
}

/// The JSON header: tensor entries plus the optional `__metadata__` map.
private struct Header: Decodable {
    let entries: [String: HeaderEntry]

    struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: Key.self)
        var entries = [String: HeaderEntry]()
        for key in container.allKeys {
            if key.stringValue == "__metadata__" {
                entries[key.stringValue] = .metadata(try container.decode([String: String].self, forKey: key))
            } else {
                let tensor = try container.decode(TensorEntry.self, forKey: key)
                entries[key.stringValue] = .tensor(dtype: tensor.dtype, shape: tensor.shape, offsets: tensor.data_offsets)
            }
        }
        self.entries = entries
    }

    struct TensorEntry: Decodable {
        let dtype: String
        let shape: [Int]
        let data_offsets: [Int]
    }
}

private enum HeaderEntry {
    case tensor(dtype: String, shape: [Int], offsets: [Int])
    case metadata([String: String])
}
