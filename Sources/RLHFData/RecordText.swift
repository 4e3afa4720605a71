import RLHFTokenizer

/// A prompt or completion as TRL datasets hold them: plain text ("standard" format) or a list of
/// chat messages ("conversational" format).
public enum RecordText: Sendable, Equatable {
    case text(String)
    case messages([ChatMessage])

    /// Whether this is a list of messages.
    public var isConversational: Bool {
        if case .messages = self { return true }
        return false
    }

    /// "a string" or "a list of messages", for error messages.
    public var kindDescription: String { isConversational ? "a list of messages" : "a string" }
}

/// The roles a dataset message may have.
let allowedRoles: Set<String> = ["system", "user", "assistant", "tool"]

/// Reads the fields of one JSONL record, with `FILE:LINE` errors that name the field.
struct FieldReader {
    let members: [String: JSONValue]
    let file: String
    let line: Int

    func error(_ reason: String) -> DatasetError { DatasetError(file: file, line: line, reason: reason) }

    /// The value of `key`, where `null` counts as absent (Hugging Face `to_json` writes `null` for
    /// a column a row lacks).
    func optional(_ key: String) -> JSONValue? {
        guard let value = members[key], value != .null else { return nil }
        return value
    }

    /// The value of `key`; when it is missing, the error says which format the fields look like.
    func required(_ key: String, for format: DatasetFormat) throws(DatasetError) -> JSONValue {
        if let value = optional(key) { return value }
        var reason = members[key] == .null ? "field '\(key)' is null" : "field '\(key)' is missing"
        // A hint when the fields look like another format; not when they are a prompt plus some of
        // this format's own fields (then the missing one is simply missing).
        if let detected = DatasetFormat.detect(fields: members.keys), detected != format, !format.sameFamily(as: detected),
           detected != .promptOnly || !members.keys.contains(where: format.ownFields.contains) {
            reason += " (\(Self.fieldsLookLike(members.keys)) \(detected.article) \(detected) record)"
        }
        throw error(reason)
    }

    /// A string or a list of messages.
    func recordText(_ key: String, for format: DatasetFormat) throws(DatasetError) -> RecordText {
        try recordText(try required(key, for: format), field: key)
    }

    /// A string or a list of messages; nil when absent or null.
    func optionalRecordText(_ key: String) throws(DatasetError) -> RecordText? {
        guard let value = optional(key) else { return nil }
        return try recordText(value, field: key)
    }

    func recordText(_ value: JSONValue, field: String) throws(DatasetError) -> RecordText {
        switch value {
        case let .string(text): return .text(text)
        case let .array(elements): return .messages(try messages(elements, field: field))
        default: throw error("'\(field)' must be a string or a list of messages, found \(value.kindDescription)")
        }
    }

    /// A non-empty list of `{"role", "content"}` objects (other keys of a message are ignored).
    func messages(_ elements: [JSONValue], field: String) throws(DatasetError) -> [ChatMessage] {
        if elements.isEmpty { throw error("'\(field)' is an empty list of messages") }
        var messages = [ChatMessage]()
        messages.reserveCapacity(elements.count)
        for (index, element) in elements.enumerated() {
            let location = "'\(field)' messages[\(index)]"
            guard case let .object(message) = element else {
                throw error("\(location) is not an object (found \(element.kindDescription))")
            }
            guard let roleValue = message["role"] else { throw error("\(location) has no 'role'") }
            guard case let .string(role) = roleValue else {
                throw error("\(location) 'role' must be a string, found \(roleValue.kindDescription)")
            }
            guard allowedRoles.contains(role) else {
                throw error("\(location) 'role' must be one of system, user, assistant, tool; found '\(role)'")
            }
            guard let contentValue = message["content"] else { throw error("\(location) has no 'content'") }
            guard case let .string(content) = contentValue else {
                throw error("\(location) 'content' must be a string, found \(contentValue.kindDescription)")
            }
            messages.append(ChatMessage(role: role, content: content))
        }
        return messages
    }

    func string(_ key: String, for format: DatasetFormat) throws(DatasetError) -> String {
        let value = try required(key, for: format)
        guard case let .string(text) = value else { throw error("'\(key)' must be a string, found \(value.kindDescription)") }
        return text
    }

    func messageList(_ key: String, for format: DatasetFormat) throws(DatasetError) -> [ChatMessage] {
        let value = try required(key, for: format)
        guard case let .array(elements) = value else {
            throw error("'\(key)' must be a list of messages, found \(value.kindDescription)")
        }
        return try messages(elements, field: key)
    }

    func bool(_ key: String, for format: DatasetFormat) throws(DatasetError) -> Bool {
        let value = try required(key, for: format)
        guard case let .bool(flag) = value else { throw error("'\(key)' must be a Boolean, found \(value.kindDescription)") }
        return flag
    }

    func optionalNumber(_ key: String) throws(DatasetError) -> Double? {
        guard let value = optional(key) else { return nil }
        guard case let .number(number) = value else { throw error("'\(key)' must be a number, found \(value.kindDescription)") }
        return number
    }

    /// Every member except `known`: kept for reward sources and logging.
    func extraFields(excluding known: Set<String>) -> [String: JSONValue] {
        members.filter { !known.contains($0.key) }
    }

    /// Requires `a` and `b` to be of one kind (both strings or both message lists).
    func requireSameKind(_ a: (String, RecordText), _ b: (String, RecordText)) throws(DatasetError) {
        guard a.1.isConversational != b.1.isConversational else { return }
        throw error("'\(a.0)' is \(a.1.kindDescription) but '\(b.0)' is \(b.1.kindDescription); use one kind for both (TRL's standard or conversational format)")
    }

    /// "the field a looks like" or "the fields a, b look like".
    static func fieldsLookLike(_ keys: some Collection<String>) -> String {
        keys.count == 1 ? "the field \(list(keys)) looks like" : "the fields \(list(keys)) look like"
    }

    /// `a, b, c` in sorted order.
    static func list(_ keys: some Sequence<String>) -> String { keys.sorted().joined(separator: ", ") }
}
