/// A bounds-checked little-endian cursor over untrusted bytes. Every read checks the remaining
/// length first and throws ``FormatError/truncated(what:offset:needed:available:)`` when short.
public struct ByteReader {
    /// The bytes being read.
    public let bytes: UnsafeRawBufferPointer
    /// Position of the next read.
    public private(set) var offset: Int
    /// What is being read, for error messages (e.g. a file name).
    public let context: String

    public init(_ bytes: UnsafeRawBufferPointer, offset: Int = 0, context: String = "data") {
        self.bytes = bytes
        self.offset = offset
        self.context = context
    }

    /// Bytes left after ``offset``.
    public var remaining: Int { bytes.count - offset }

    private func require(_ count: Int, _ what: String) throws {
        guard count >= 0, count <= remaining else {
            throw FormatError.truncated(what: "\(context): \(what)", offset: offset, needed: count, available: max(0, remaining))
        }
    }

    private mutating func load<T: FixedWidthInteger>(_ type: T.Type, _ what: String) throws -> T {
        try require(MemoryLayout<T>.size, what)
        let value = bytes.loadUnaligned(fromByteOffset: offset, as: T.self)
        offset += MemoryLayout<T>.size
        return T(littleEndian: value)
    }

    public mutating func readUInt8(_ what: String = "u8") throws -> UInt8 { try load(UInt8.self, what) }
    public mutating func readUInt16(_ what: String = "u16") throws -> UInt16 { try load(UInt16.self, what) }
    public mutating func readUInt32(_ what: String = "u32") throws -> UInt32 { try load(UInt32.self, what) }
    public mutating func readUInt64(_ what: String = "u64") throws -> UInt64 { try load(UInt64.self, what) }
    public mutating func readInt8(_ what: String = "i8") throws -> Int8 { try load(Int8.self, what) }
    public mutating func readInt16(_ what: String = "i16") throws -> Int16 { try load(Int16.self, what) }
    public mutating func readInt32(_ what: String = "i32") throws -> Int32 { try load(Int32.self, what) }
    public mutating func readInt64(_ what: String = "i64") throws -> Int64 { try load(Int64.self, what) }
    public mutating func readFloat32(_ what: String = "f32") throws -> Float { Float(bitPattern: try load(UInt32.self, what)) }
    public mutating func readFloat64(_ what: String = "f64") throws -> Double { Double(bitPattern: try load(UInt64.self, what)) }

    /// The next `count` bytes, without copying.
    public mutating func readBytes(_ count: Int, _ what: String = "bytes") throws -> UnsafeRawBufferPointer {
        try require(count, what)
        defer { offset += count }
        return UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + count)])
    }

    /// Advances by `count` bytes.
    public mutating func skip(_ count: Int, _ what: String = "bytes") throws {
        try require(count, what)
        offset += count
    }

    /// Moves to an absolute position (≤ the end).
    public mutating func seek(to position: Int) throws {
        guard position >= 0, position <= bytes.count else {
            throw FormatError.truncated(what: "\(context): seek", offset: position, needed: 0, available: bytes.count - position)
        }
        offset = position
    }
}
