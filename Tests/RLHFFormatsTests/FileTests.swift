import Foundation
import RLHFFormats
import Testing

@Suite("MappedFile and AtomicFile")
struct FileTests {
    @Test func mapsFilesAndRefusesOthers() throws {
        let directory = try TemporaryDirectory()
        let path = try directory.write([1, 2, 3, 250], to: "small.bin")
        let file = try MappedFile(path: path)
        #expect(file.count == 4)
        #expect(Array(file.bytes) == [1, 2, 3, 250])
        #expect(file.path == path)

        let empty = try MappedFile(path: try directory.write([], to: "empty.bin"))
        #expect(empty.count == 0)
        #expect(empty.bytes.isEmpty)

        let missing = directory.file("missing.bin")
        #expect(throws: FormatError.cannotOpen(path: missing, reason: "No such file or directory")) { try MappedFile(path: missing) }
        #expect(throws: FormatError.cannotOpen(path: directory.path, reason: "a directory")) { try MappedFile(path: directory.path) }
        // A FIFO with no writer must be refused at once, not block the reader.
        let fifo = directory.file("pipe")
        #expect(mkfifo(fifo, 0o600) == 0)
        #expect(throws: FormatError.cannotOpen(path: fifo, reason: "not a regular file")) { try MappedFile(path: fifo) }
    }

    @Test func atomicWritesReplaceWholeFiles() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("atomic.txt")
        try AtomicFile.write(Data("first".utf8), to: path)
        try AtomicFile.write(Data("second".utf8), to: path)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "second")
        #expect(try directory.contents() == ["atomic.txt"])
        #expect(throws: FormatError.self) { try AtomicFile.write(Data("x".utf8), to: "/nonexistent-dir/file") }
    }

    @Test func streamingWritesAreExactAndAbortCleanly() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("stream.bin")
        // Small chunks (buffered), a chunk larger than the buffer (written directly), and more small ones.
        var expected = [UInt8]()
        let large = (0..<(3 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        try AtomicFile.write(to: path) { writer in
            for i in 0..<1000 {
                let chunk = [UInt8](repeating: UInt8(i % 251), count: i % 17)
                try chunk.withUnsafeBytes { try writer.write($0) }
                expected += chunk
            }
            try large.withUnsafeBytes { try writer.write($0) }
            expected += large
            try writer.write(bytesOf: UInt32(0xDEAD_BEEF).littleEndian)
            expected += [0xEF, 0xBE, 0xAD, 0xDE]
            try writer.write([9, 8, 7] as [UInt8])
            expected += [9, 8, 7]
            #expect(writer.bytesWritten == expected.count)
        }
        #expect(try readBytes(path) == expected)

        // A body that throws leaves the old file and no temporary behind.
        struct Abort: Error {}
        #expect(throws: Abort.self) {
            try AtomicFile.write(to: path) { writer in
                try writer.write(Data("partial".utf8))
                throw Abort()
            }
        }
        #expect(try readBytes(path) == expected)
        #expect(try directory.contents() == ["stream.bin"])
    }
}
