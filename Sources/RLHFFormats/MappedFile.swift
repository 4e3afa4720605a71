#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A read-only memory map of a whole file. Large model files are paged in on demand instead of
/// being read into memory.
///
/// The mapping is private and read-only (`PROT_READ`, `MAP_PRIVATE`) and lives until the object is
/// released. Only regular files are accepted: a FIFO, device or directory is refused at once
/// instead of blocking or reading without end. As with any mapping, another process truncating the
/// file while it is mapped makes later reads of the lost pages fault; model files are not expected
/// to change under a reader (writers in this package replace files atomically, by rename).
public final class MappedFile: @unchecked Sendable {
    /// The path the file was opened with.
    public let path: String
    /// The file's bytes (empty, with a nil base address, for an empty file).
    public let bytes: UnsafeRawBufferPointer
    private let mapping: UnsafeMutableRawPointer?

    /// Number of bytes.
    public var count: Int { bytes.count }

    /// Maps `path` read-only; throws ``FormatError/cannotOpen(path:reason:)`` when it cannot.
    public init(path: String) throws {
        self.path = path
        // O_NONBLOCK: opening a FIFO for reading must not wait for a writer (it is refused below).
        var descriptor: Int32
        repeat {
            descriptor = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        } while descriptor < 0 && errno == EINTR
        guard descriptor >= 0 else { throw FormatError.cannotOpen(path: path, reason: Self.systemError()) }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else {
            throw FormatError.cannotOpen(path: path, reason: "fstat: \(Self.systemError())")
        }
        guard (status.st_mode & S_IFMT) == S_IFREG else {
            let kind = (status.st_mode & S_IFMT) == S_IFDIR ? "a directory" : "not a regular file"
            throw FormatError.cannotOpen(path: path, reason: kind)
        }
        guard status.st_size >= 0, let size = Int(exactly: status.st_size) else {
            throw FormatError.cannotOpen(path: path, reason: "unusable file size \(status.st_size)")
        }
        if size == 0 {
            mapping = nil
            bytes = UnsafeRawBufferPointer(start: nil, count: 0)
            return
        }
        let address: UnsafeMutableRawPointer? = mmap(nil, size, PROT_READ, MAP_PRIVATE, descriptor, 0)
        guard let address, address != MAP_FAILED else {
            throw FormatError.cannotOpen(path: path, reason: "mmap of \(size) bytes failed: \(Self.systemError())")
        }
        mapping = address
        bytes = UnsafeRawBufferPointer(start: address, count: size)
    }

    deinit {
        if let mapping { munmap(mapping, bytes.count) }
    }

    /// The message for the current `errno`.
    static func systemError() -> String {
        let code = errno
        guard let message = strerror(code) else { return "error \(code)" }
        return String(cString: message)
    }
}
