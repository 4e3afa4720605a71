import Foundation

/// A JSON value, kept exactly as read: the fields of a dataset record that swift-rlhf does not
/// interpret itself (a prompt record's `answer`, `id`, …) travel as these to reward sources.
public enum JSONValue: Sendable, Equatable, Hashable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    /// The string, when this is one.
    public var string: String? { if case let .string(value) = self { return value } else { return nil } }
    /// The number, when this is one.
    public var number: Double? { if case let .number(value) = self { return value } else { return nil } }
    /// The Boolean, when this is one.
    public var bool: Bool? { if case let .bool(value) = self { return value } else { return nil } }
    /// The elements, when this is an array.
    public var array: [JSONValue]? { if case let .array(value) = self { return value } else { return nil } }
    /// The members, when this is an object.
    public var object: [String: JSONValue]? { if case let .object(value) = self { return value } else { return nil } }

    /// What kind of value this is, for error messages ("a string", "an array", …).
    public var kindDescription: String {
        switch self {
        case .null: return "null"
        case .bool: return "a Boolean"
        case .number: return "a number"
        case .string: return "a string"
        case .array: return "an array"
        case .object: return "an object"
        }
    }

    /// Converts a `JSONSerialization` result (NSNumber Booleans become `.bool`).
    public init(foundation value: Any) {
        switch value {
        case is NSNull: self = .null
        case let text as String: self = .string(text)
        case let number as NSNumber:
            // JSONSerialization makes Booleans NSNumbers of Objective-C type "c" (char); numbers
            // it reads are never chars.
            if String(cString: number.objCType) == "c" { self = .bool(number.boolValue) } else { self = .number(number.doubleValue) }
        case let array as [Any]: self = .array(array.map(JSONValue.init(foundation:)))
        case let object as [String: Any]: self = .object(object.mapValues(JSONValue.init(foundation:)))
        default: self = .string(String(describing: value))
        }
    }

    /// The value as a `JSONSerialization`-ready object.
    public var foundationObject: Any {
        switch self {
        case .null: return NSNull()
        case let .bool(value): return value
        case let .number(value): return value
        case let .string(value): return value
        case let .array(values): return values.map(\.foundationObject)
        case let .object(members): return members.mapValues(\.foundationObject)
        }
    }
}

extension JSONValue: Codable {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() { self = .null }
        else if let value = try? container.decode(Bool.self) { self = .bool(value) }
        else if let value = try? container.decode(Double.self) { self = .number(value) }
        else if let value = try? container.decode(String.self) { self = .string(value) }
        else if let value = try? container.decode([JSONValue].self) { self = .array(value) }
        else { self = .object(try container.decode([String: JSONValue].self)) }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case let .bool(value): try container.encode(value)
        case let .number(value): try container.encode(value)
        case let .string(value): try container.encode(value)
        case let .array(values): try container.encode(values)
        case let .object(members): try container.encode(members)
        }
    }
}
