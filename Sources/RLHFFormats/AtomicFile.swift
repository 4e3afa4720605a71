#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes files so that readers see either the old contents or the complete new ones: data goes
/// to a temporary file in the same directory, is flushed to disk, then renamed over the target.
public enum AtomicFile {
    /// A sink for the streaming variant of ``write(to:_:)``.
    public struct Writer {
        let descriptor: Int32
        let path: String

        /// Appends `bytes`.
        public func write(_ bytes: UnsafeRawBufferPointer) throws {
            var offset = 0
            while offset < bytes.count {
                let written = Glibc_write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    throw FormatError.cannotWrite(path: path, reason: String(cString: strerror(errno)))
                }
                offset += written
            }
        }

        /// Appends the bytes of `data`.
        public func write(_ data: some DataProtocol) throws {
            for region in data.regions {
                try region.withUnsafeBytes { try write($0) }
            }
        }
    }

    /// Writes `data` to `path` atomically.
    public static func write(_ data: some DataProtocol, to path: String) throws {
        try write(to: path) { try $0.write(data) }
    }

    /// Streams the contents produced by `body` to `path` atomically.
    public static func write(to path: String, _ body: (Writer) throws -> Void) throws {
        let temporary = path + ".tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard descriptor >= 0 else { throw FormatError.cannotWrite(path: path, reason: String(cString: strerror(errno))) }
        var success = false
        defer {
            if !success {
                close(descriptor)
                unlink(temporary)
            }
        }
        try body(Writer(descriptor: descriptor, path: path))
        guard fsync(descriptor) == 0 else { throw FormatError.cannotWrite(path: path, reason: "fsync: \(String(cString: strerror(errno)))") }
        close(descriptor)
        success = true
        guard rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw FormatError.cannotWrite(path: path, reason: "rename: \(reason)")
        }
        // Make the rename itself durable.
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        let directoryDescriptor = open(directory, O_RDONLY)
        if directoryDescriptor >= 0 {
            _ = fsync(directoryDescriptor)
            close(directoryDescriptor)
        }
    }
}

#if canImport(Glibc)
@inline(__always) private func Glibc_write(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int { Glibc.write(fd, buffer, count) }
#elseif canImport(Darwin)
@inline(__always) private func Glibc_write(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int { Darwin.write(fd, buffer, count) }
#endif
