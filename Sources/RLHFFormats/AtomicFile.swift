#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes files so that readers see either the old contents or the complete new ones: data goes
/// to a temporary file in the same directory, is flushed to disk, then renamed over the target
/// (and the directory is flushed so the rename survives a crash). On any error the temporary file
/// is removed and the target is left as it was.
public enum AtomicFile {
    /// A sink for the streaming variant ``AtomicFile/write(to:_:)``: appends bytes to the
    /// temporary file. Small writes are gathered in a buffer; large ones go straight to the file.
    /// Valid only inside the closure it is passed to.
    public final class Writer {
        private let descriptor: Int32
        /// The destination path (for error messages).
        public let path: String
        /// Bytes accepted so far.
        public private(set) var bytesWritten = 0
        private var buffer: [UInt8] = []
        private static let bufferCapacity = 1 << 20

        init(descriptor: Int32, path: String) {
            self.descriptor = descriptor
            self.path = path
            buffer.reserveCapacity(Self.bufferCapacity)
        }

        /// Appends `bytes`.
        public func write(_ bytes: UnsafeRawBufferPointer) throws {
            bytesWritten += bytes.count
            if buffer.count + bytes.count <= Self.bufferCapacity {
                buffer.append(contentsOf: bytes)
                return
            }
            try flush()
            if bytes.count < Self.bufferCapacity {
                buffer.append(contentsOf: bytes)
            } else {
                try writeAll(bytes)
            }
        }

        /// Appends the bytes of `data`.
        public func write(_ data: some DataProtocol) throws {
            for region in data.regions {
                try region.withUnsafeBytes { try write($0) }
            }
        }

        /// Appends the bytes of `value`'s in-memory representation (e.g. a little-endian integer).
        public func write<T: BitwiseCopyable>(bytesOf value: T) throws {
            try withUnsafeBytes(of: value) { try write($0) }
        }

        /// Writes out the buffered bytes.
        func flush() throws {
            guard !buffer.isEmpty else { return }
            try buffer.withUnsafeBytes { try writeAll($0) }
            buffer.removeAll(keepingCapacity: true)
        }

        private func writeAll(_ bytes: UnsafeRawBufferPointer) throws {
            guard let base = bytes.baseAddress else { return }
            var done = 0
            while done < bytes.count {
                let written = systemWrite(descriptor, base + done, bytes.count - done)
                if written < 0 {
                    if errno == EINTR { continue }
                    throw FormatError.cannotWrite(path: path, reason: MappedFile.systemError())
                }
                guard written > 0 else { throw FormatError.cannotWrite(path: path, reason: "write made no progress") }
                done += written
            }
        }
    }

    /// Writes `data` to `path` atomically.
    public static func write(_ data: some DataProtocol, to path: String) throws {
        try write(to: path) { try $0.write(data) }
    }

    /// Streams the contents produced by `body` to `path` atomically; nothing is replaced if
    /// `body` throws.
    public static func write(to path: String, _ body: (Writer) throws -> Void) throws {
        let temporary = path + ".tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        var descriptor: Int32
        repeat {
            descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        } while descriptor < 0 && errno == EINTR
        guard descriptor >= 0 else {
            throw FormatError.cannotWrite(path: path, reason: "creating \(temporary): \(MappedFile.systemError())")
        }
        var isOpen = true
        var renamed = false
        defer {
            if isOpen { close(descriptor) }
            if !renamed { unlink(temporary) }
        }
        let writer = Writer(descriptor: descriptor, path: path)
        try body(writer)
        try writer.flush()
        var status: Int32
        repeat { status = fsync(descriptor) } while status != 0 && errno == EINTR
        guard status == 0 else { throw FormatError.cannotWrite(path: path, reason: "fsync: \(MappedFile.systemError())") }
        isOpen = false
        guard close(descriptor) == 0 else { throw FormatError.cannotWrite(path: path, reason: "close: \(MappedFile.systemError())") }
        guard rename(temporary, path) == 0 else {
            throw FormatError.cannotWrite(path: path, reason: "rename: \(MappedFile.systemError())")
        }
        renamed = true
        // Make the rename itself durable (best effort: some file systems refuse fsync on directories).
        let directoryDescriptor = open(directory(of: path), O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if directoryDescriptor >= 0 {
            _ = fsync(directoryDescriptor)
            close(directoryDescriptor)
        }
    }

    /// The directory part of `path` ("." when there is none).
    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        let directory = path[..<slash]
        return directory.isEmpty ? "/" : String(directory)
    }
}

#if canImport(Glibc)
@inline(__always) private func systemWrite(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int { Glibc.write(fd, buffer, count) }
#elseif canImport(Musl)
@inline(__always) private func systemWrite(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int { Musl.write(fd, buffer, count) }
#elseif canImport(Darwin)
@inline(__always) private func systemWrite(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int { Darwin.write(fd, buffer, count) }
#endif
