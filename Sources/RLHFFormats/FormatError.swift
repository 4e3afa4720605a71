/// Errors reading or writing model files. Every case names the file, tensor or key involved and,
/// where it applies, the byte offset, so a bad file can be diagnosed from the message alone.
public enum FormatError: Error, CustomStringConvertible, Equatable {
    case cannotOpen(path: String, reason: String)
    case truncated(what: String, offset: Int, needed: Int, available: Int)
    case invalidHeader(file: String, reason: String)
    case invalidTensor(name: String, reason: String)
    case unsupportedDType(name: String, dtype: String)
    case duplicateTensor(name: String)
    case missingTensor(name: String)
    case shapeMismatch(name: String, expected: [Int], actual: [Int])
    case cannotWrite(path: String, reason: String)

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
