/// Errors reading or writing model files. Every case names the file, tensor or key involved and,
/// where it applies, the byte offset, so a bad file can be diagnosed from the message alone.
public enum FormatError: Error, CustomStringConvertible, Equatable {
    /// The file could not be opened or mapped (missing, a directory, a FIFO, permissions...).
    case cannotOpen(path: String, reason: String)
    /// Fewer bytes remain than a read needs; `what` names the file and the field.
    case truncated(what: String, offset: Int, needed: Int, available: Int)
    /// The file's header (length, JSON, magic, metadata) is malformed.
    case invalidHeader(file: String, reason: String)
    /// One tensor's entry is inconsistent (shape, offsets, overlap); `reason` names file and byte.
    case invalidTensor(name: String, reason: String)
    /// A tensor has an element type this library cannot read (or not as the requested kind).
    case unsupportedDType(name: String, dtype: String)
    /// Two tensors share a name.
    case duplicateTensor(name: String)
    /// A required tensor is absent.
    case missingTensor(name: String)
    /// A tensor's shape (or element count) differs from the one required.
    case shapeMismatch(name: String, expected: [Int], actual: [Int])
    /// The file could not be written (directory missing, disk full, rename failed...).
    case cannotWrite(path: String, reason: String)

    /// A one-line, human-readable explanation.
    public var description: String {
        switch self {
        case let .cannotOpen(path, reason):
            return "cannot open \(path): \(reason)"
        case let .truncated(what, offset, needed, available):
            return "truncated \(what) at byte \(offset): needs \(needed) bytes, \(available) remain"
        case let .invalidHeader(file, reason):
            return "\(file): invalid header: \(reason)"
        case let .invalidTensor(name, reason):
            return "tensor '\(name)': \(reason)"
        case let .unsupportedDType(name, dtype):
            return "tensor '\(name)': unsupported dtype \(dtype)"
        case let .duplicateTensor(name):
            return "tensor '\(name)' appears twice"
        case let .missingTensor(name):
            return "tensor '\(name)' is missing"
        case let .shapeMismatch(name, expected, actual):
            return "tensor '\(name)' has shape \(actual), expected \(expected)"
        case let .cannotWrite(path, reason):
            return "cannot write \(path): \(reason)"
        }
    }
}
