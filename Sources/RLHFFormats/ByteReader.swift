/// A bounds-checked little-endian cursor over untrusted bytes.
///
/// Every read checks the remaining length first and throws
/// ``FormatError/truncated(what:offset:needed:available:)`` naming ``context``, the field and the
/// byte offset when short; a failed read leaves ``offset`` unchanged. Loads are unaligned, so the
/// bytes may start anywhere. The reader does not own the bytes: keep their owner (for example a
/// ``MappedFile``) alive while reading, and while using buffers returned by ``readBytes(_:_:)``.
///
///     var reader = ByteReader(file.bytes, context: file.path)
///     let magic = try reader.readUInt32("magic")
public struct ByteReader {
    /// The bytes being read.
    public let bytes: UnsafeRawBufferPointer
    /// Position of the next read, from the start of ``bytes``.
    public private(set) var offset: Int
    /// What is being read, for error messages (e.g. a file name).
    public let context: String

    /// A reader over `bytes` starting at `offset` (0 ≤ offset ≤ bytes.count).
    public init(_ bytes: UnsafeRawBufferPointer, offset: Int = 0, context: String = "data") {
        precondition(offset >= 0 && offset <= bytes.count, "ByteReader start offset out of range")
        self.bytes = bytes
        self.offset = offset
        self.context = context
    }

    /// Bytes left after ``offset``.
    public var remaining: Int { bytes.count - offset }

    /// Whether every byte has been consumed.
    public var isAtEnd: Bool { offset == bytes.count }

    /// Throws `truncated` unless `count` (≥ 0) bytes remain.
    private func require(_ count: Int, _ what: String) throws {
        guard count >= 0, count <= remaining else {
            throw FormatError.truncated(what: "\(context): \(what)", offset: offset, needed: count, available: remaining)
        }
    }

    private mutating func load<T: FixedWidthInteger>(_ type: T.Type, _ what: String) throws -> T {
        try require(MemoryLayout<T>.size, what)
        let value = bytes.loadUnaligned(fromByteOffset: offset, as: T.self)
        offset += MemoryLayout<T>.size
        return T(littleEndian: value)
    }

    /// Reads a `UInt8`; `what` names the field in errors.
    public mutating func readUInt8(_ what: String = "u8") throws -> UInt8 { try load(UInt8.self, what) }
    /// Reads a little-endian `UInt16`.
    public mutating func readUInt16(_ what: String = "u16") throws -> UInt16 { try load(UInt16.self, what) }
    /// Reads a little-endian `UInt32`.
    public mutating func readUInt32(_ what: String = "u32") throws -> UInt32 { try load(UInt32.self, what) }
    /// Reads a little-endian `UInt64`.
    public mutating func readUInt64(_ what: String = "u64") throws -> UInt64 { try load(UInt64.self, what) }
    /// Reads an `Int8`.
    public mutating func readInt8(_ what: String = "i8") throws -> Int8 { try load(Int8.self, what) }
    /// Reads a little-endian `Int16`.
    public mutating func readInt16(_ what: String = "i16") throws -> Int16 { try load(Int16.self, what) }
    /// Reads a little-endian `Int32`.
    public mutating func readInt32(_ what: String = "i32") throws -> Int32 { try load(Int32.self, what) }
    /// Reads a little-endian `Int64`.
    public mutating func readInt64(_ what: String = "i64") throws -> Int64 { try load(Int64.self, what) }
    /// Reads a little-endian IEEE float32.
    public mutating func readFloat32(_ what: String = "f32") throws -> Float { Float(bitPattern: try load(UInt32.self, what)) }
    /// Reads a little-endian IEEE float64.
    public mutating func readFloat64(_ what: String = "f64") throws -> Double { Double(bitPattern: try load(UInt64.self, what)) }

    /// Reads a little-endian `UInt64` that must fit in an `Int` no larger than `limit`
    /// (a length or count about to be used for slicing or allocation).
    public mutating func readLength(_ what: String, limit: Int = .max) throws -> Int {
        let start = offset
        let value = try readUInt64(what)
        guard value <= UInt64(max(0, limit)) else {
            offset = start
            throw FormatError.invalidHeader(file: context, reason: "\(what) \(value) at byte \(start) exceeds the limit \(limit)")
        }
        return Int(value)
    }

    /// The next `count` bytes, without copying (valid while the underlying bytes are).
    public mutating func readBytes(_ count: Int, _ what: String = "bytes") throws -> UnsafeRawBufferPointer {
        try require(count, what)
        defer { offset += count }
        return UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + count)])
    }

    /// The next `count` bytes decoded as UTF-8; invalid UTF-8 throws `invalidHeader` with its offset.
    public mutating func readString(_ count: Int, _ what: String = "string") throws -> String {
        let start = offset
        let raw = try readBytes(count, what)
        guard let text = String(validating: raw, as: UTF8.self) else {
            offset = start
            throw FormatError.invalidHeader(file: context, reason: "\(what) at byte \(start) is not valid UTF-8")
        }
        return text
    }

    /// The next `count` bytes, without consuming them.
    public func peekBytes(_ count: Int, _ what: String = "bytes") throws -> UnsafeRawBufferPointer {
        try require(count, what)
        return UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + count)])
    }

    /// Advances by `count` bytes.
    public mutating func skip(_ count: Int, _ what: String = "bytes") throws {
        try require(count, what)
        offset += count
    }

    /// Advances to the next multiple of `alignment` (a power of two), measured from the start.
    public mutating func align(to alignment: Int, _ what: String = "padding") throws {
        precondition(alignment > 0 && alignment & (alignment - 1) == 0, "alignment must be a power of two")
        let padding = (alignment - offset % alignment) % alignment
        try skip(padding, what)
    }

    /// Moves to an absolute position, 0 through `bytes.count` inclusive.
    public mutating func seek(to position: Int) throws {
        guard position >= 0 else {
            throw FormatError.invalidHeader(file: context, reason: "seek to negative byte offset \(position)")
        }
        guard position <= bytes.count else {
            throw FormatError.truncated(
                what: "\(context): seek to byte \(position)", offset: offset, needed: position - offset, available: remaining)
        }
        offset = position
    }
}
