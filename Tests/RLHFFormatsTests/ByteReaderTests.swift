import RLHFFormats
import Testing

@Suite("ByteReader")
struct ByteReaderTests {
    @Test func readsLittleEndianValuesAtAnyAlignment() throws {
        let bytes: [UInt8] = [
            0xAB,  // u8, so everything after is misaligned
            0x34, 0x12,  // u16 0x1234
            0x78, 0x56, 0x34, 0x12,  // u32 0x12345678
            0xF0, 0xDE, 0xBC, 0x9A, 0x78, 0x56, 0x34, 0x12,  // u64
            0xFF,  // i8 -1
            0xFE, 0xFF,  // i16 -2
            0xFD, 0xFF, 0xFF, 0xFF,  // i32 -3
            0xFC, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,  // i64 -4
            0x00, 0x00, 0xC0, 0x3F,  // f32 1.5
            0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0xC0,  // f64 -2.5
            0x68, 0x69, 0xC3, 0xA9,  // "hié"
        ]
        try bytes.withUnsafeBytes { (raw: UnsafeRawBufferPointer) throws -> Void in
            var reader = ByteReader(raw, context: "test")
            #expect(try reader.readUInt8() == 0xAB)
            #expect(try reader.readUInt16() == 0x1234)
            #expect(try reader.readUInt32() == 0x1234_5678)
            #expect(try reader.readUInt64() == 0x1234_5678_9ABC_DEF0)
            #expect(try reader.readInt8() == -1)
            #expect(try reader.readInt16() == -2)
            #expect(try reader.readInt32() == -3)
            #expect(try reader.readInt64() == -4)
            #expect(try reader.readFloat32() == 1.5)
            #expect(try reader.readFloat64() == -2.5)
            #expect(try reader.readString(4) == "hié")
            #expect(reader.isAtEnd)
            #expect(reader.remaining == 0)
        }
    }

    @Test func everyShortReadThrowsWithTheOffset() throws {
        let bytes: [UInt8] = [1, 0, 0, 0, 0xFF]
        try bytes.withUnsafeBytes { (raw: UnsafeRawBufferPointer) throws -> Void in
            var reader = ByteReader(raw, context: "test")
            #expect(try reader.readUInt32() == 1)
            #expect(reader.remaining == 1)
            #expect(throws: FormatError.truncated(what: "test: u16", offset: 4, needed: 2, available: 1)) { try reader.readUInt16() }
            #expect(throws: FormatError.truncated(what: "test: count", offset: 4, needed: 8, available: 1)) {
                try reader.readUInt64("count")
            }
            #expect(throws: FormatError.self) { try reader.readInt32() }
            #expect(throws: FormatError.self) { try reader.readFloat32() }
            #expect(throws: FormatError.self) { try reader.readFloat64() }
            #expect(throws: FormatError.self) { try reader.readInt16() }
            #expect(throws: FormatError.self) { try reader.readInt64() }
            #expect(throws: FormatError.self) { try reader.readBytes(2) }
            #expect(throws: FormatError.self) { try reader.readBytes(-1) }
            #expect(throws: FormatError.self) { try reader.readBytes(Int.max) }
            #expect(throws: FormatError.self) { try reader.skip(Int.max) }
            #expect(throws: FormatError.self) { try reader.skip(-1) }
            #expect(throws: FormatError.self) { try reader.peekBytes(2) }
            // Failed reads leave the position alone.
            #expect(reader.offset == 4)
            #expect(try reader.readInt8() == -1)
            #expect(throws: FormatError.self) { try reader.readUInt8() }
            #expect(try reader.readBytes(0).isEmpty)
        }
    }

    @Test func seekSkipAlignAndLengths() throws {
        let bytes: [UInt8] = [3, 0, 0, 0, 0, 0, 0, 0, 0xAA, 0xBB, 0xCC, 0xFF, 0xFE]
        try bytes.withUnsafeBytes { (raw: UnsafeRawBufferPointer) throws -> Void in
            var reader = ByteReader(raw, context: "file.bin")
            #expect(try reader.readLength("n", limit: 3) == 3)
            try reader.seek(to: 0)
            #expect(throws: FormatError.self) { try reader.readLength("n", limit: 2) }
            #expect(reader.offset == 0)
            try reader.skip(9)
            #expect(try reader.peekBytes(1).first == 0xBB)
            try reader.align(to: 4)
            #expect(reader.offset == 12)
            #expect(try reader.readUInt8() == 0xFE)
            #expect(throws: FormatError.self) { try reader.align(to: 4) }  // 13 → 16 is past the end
            try reader.seek(to: 13)
            #expect(reader.isAtEnd)
            #expect(throws: FormatError.self) { try reader.seek(to: 14) }
            #expect(throws: FormatError.self) { try reader.seek(to: -1) }
            try reader.seek(to: 11)
            #expect(throws: FormatError.self) { try reader.readString(2) }  // 0xFF 0xFE is not UTF-8
            #expect(reader.offset == 11)
        }
    }
}
