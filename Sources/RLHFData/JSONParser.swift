/// A strict RFC 8259 JSON parser over UTF-8 bytes, straight into ``JSONValue``.
///
/// Written for JSONL datasets: one short document per line, parsed without Foundation objects
/// (no `NSNumber`, `NSDictionary` or bridging), so a 30 MB file parses in a fraction of a second and
/// every syntax error names what was expected and the column (1-based byte offset in the line).
/// Duplicate object keys keep the last value, as Python's `json` does.
struct JSONParser {
    /// A syntax error: what is wrong, and the 0-based byte offset where it was found.
    struct SyntaxError: Error {
        let message: String
        let offset: Int
        var description: String { "\(message) at column \(offset + 1)" }
    }

    /// Deepest nesting accepted (arrays and objects), so hostile input cannot exhaust the stack.
    static let maximumDepth = 512

    private let bytes: UnsafeBufferPointer<UInt8>
    private var position: Int
    private var depth = 0

    /// Parses exactly one JSON value filling `bytes` (surrounding whitespace allowed).
    static func parse(_ bytes: UnsafeBufferPointer<UInt8>) throws(SyntaxError) -> JSONValue {
        var parser = JSONParser(bytes: bytes, position: 0)
        parser.skipWhitespace()
        let value = try parser.parseValue()
        parser.skipWhitespace()
        if parser.position < bytes.count {
            throw SyntaxError(message: "unexpected \(parser.describeByte(at: parser.position)) after the value", offset: parser.position)
        }
        return value
    }

    /// Parses `text` (tests and small inputs).
    static func parse(_ text: String) throws(SyntaxError) -> JSONValue {
        var text = text
        let result: Result<JSONValue, SyntaxError> = text.withUTF8 { bytes in
            do throws(SyntaxError) { return .success(try parse(bytes)) } catch { return .failure(error) }
        }
        return try result.get()
    }

    private init(bytes: UnsafeBufferPointer<UInt8>, position: Int) {
        self.bytes = bytes
        self.position = position
    }

    // MARK: - Values

    private mutating func parseValue() throws(SyntaxError) -> JSONValue {
        guard position < bytes.count else { throw SyntaxError(message: "unexpected end of the line, expected a value", offset: position) }
        switch bytes[position] {
        case UInt8(ascii: "{"): return try parseObject()
        case UInt8(ascii: "["): return try parseArray()
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): try expectLiteral("true"); return .bool(true)
        case UInt8(ascii: "f"): try expectLiteral("false"); return .bool(false)
        case UInt8(ascii: "n"): try expectLiteral("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try parseNumber())
        default: throw SyntaxError(message: "unexpected \(describeByte(at: position)), expected a value", offset: position)
        }
    }

    private mutating func parseObject() throws(SyntaxError) -> JSONValue {
        let start = position
        try enterContainer(at: start)
        position += 1  // {
        var members = [String: JSONValue]()
        skipWhitespace()
        if position < bytes.count, bytes[position] == UInt8(ascii: "}") {
            position += 1
            depth -= 1
            return .object(members)
        }
        while true {
            guard position < bytes.count else { throw SyntaxError(message: "unterminated object (opened at column \(start + 1))", offset: position) }
            guard bytes[position] == UInt8(ascii: "\"") else {
                throw SyntaxError(message: "unexpected \(describeByte(at: position)), expected an object key in double quotes", offset: position)
            }
            let key = try parseString()
            skipWhitespace()
            guard position < bytes.count, bytes[position] == UInt8(ascii: ":") else {
                throw SyntaxError(message: "expected ':' after the key \"\(key)\"", offset: position)
            }
            position += 1
            skipWhitespace()
            members[key] = try parseValue()
            skipWhitespace()
            guard position < bytes.count else { throw SyntaxError(message: "unterminated object (opened at column \(start + 1))", offset: position) }
            switch bytes[position] {
            case UInt8(ascii: ","):
                position += 1
                skipWhitespace()
            case UInt8(ascii: "}"):
                position += 1
                depth -= 1
                return .object(members)
            default:
                throw SyntaxError(message: "unexpected \(describeByte(at: position)), expected ',' or '}' in an object", offset: position)
            }
        }
    }

    private mutating func parseArray() throws(SyntaxError) -> JSONValue {
        let start = position
        try enterContainer(at: start)
        position += 1  // [
        var elements = [JSONValue]()
        skipWhitespace()
        if position < bytes.count, bytes[position] == UInt8(ascii: "]") {
            position += 1
            depth -= 1
            return .array(elements)
        }
        while true {
            elements.append(try parseValue())
            skipWhitespace()
            guard position < bytes.count else { throw SyntaxError(message: "unterminated array (opened at column \(start + 1))", offset: position) }
            switch bytes[position] {
            case UInt8(ascii: ","):
                position += 1
                skipWhitespace()
            case UInt8(ascii: "]"):
                position += 1
                depth -= 1
                return .array(elements)
            default:
                throw SyntaxError(message: "unexpected \(describeByte(at: position)), expected ',' or ']' in an array", offset: position)
            }
        }
    }

    private mutating func enterContainer(at offset: Int) throws(SyntaxError) {
        depth += 1
        if depth > Self.maximumDepth {
            throw SyntaxError(message: "nested deeper than \(Self.maximumDepth) levels", offset: offset)
        }
    }

    private mutating func expectLiteral(_ literal: StaticString) throws(SyntaxError) {
        let count = literal.utf8CodeUnitCount
        let matches = position + count <= bytes.count
            && (0..<count).allSatisfy { bytes[position + $0] == literal.utf8Start[$0] }
        guard matches else {
            throw SyntaxError(message: "unexpected \(describeByte(at: position)), expected a value", offset: position)
        }
        position += count
    }

    // MARK: - Strings

    /// A string at `position` (its opening quote); escapes resolved, UTF-8 validated.
    private mutating func parseString() throws(SyntaxError) -> String {
        let start = position
        position += 1
        let contentStart = position
        // Fast path: no escapes, so the bytes are the string.
        while position < bytes.count {
            let byte = bytes[position]
            if byte == UInt8(ascii: "\"") {
                let content = UnsafeBufferPointer(rebasing: bytes[contentStart..<position])
                position += 1
                guard Self.isValidUTF8(content) else { throw SyntaxError(message: "invalid UTF-8 in the string", offset: start) }
                return String(decoding: content, as: UTF8.self)
            }
            if byte == UInt8(ascii: "\\") { break }
            if byte < 0x20 { throw controlCharacterError(at: position) }
            position += 1
        }
        guard position < bytes.count else { throw SyntaxError(message: "unterminated string", offset: start) }
        // Slow path: copy into a buffer, resolving escapes.
        var buffer = [UInt8](UnsafeBufferPointer(rebasing: bytes[contentStart..<position]))
        while position < bytes.count {
            let byte = bytes[position]
            switch byte {
            case UInt8(ascii: "\""):
                position += 1
                let valid = buffer.withUnsafeBufferPointer { Self.isValidUTF8($0) }
                guard valid else { throw SyntaxError(message: "invalid UTF-8 in the string", offset: start) }
                return String(decoding: buffer, as: UTF8.self)
            case UInt8(ascii: "\\"):
                try parseEscape(into: &buffer)
            case 0..<0x20:
                throw controlCharacterError(at: position)
            default:
                buffer.append(byte)
                position += 1
            }
        }
        throw SyntaxError(message: "unterminated string", offset: start)
    }

    /// Whether `bytes` is well-formed UTF-8 (no overlong forms, surrogates or values past
    /// U+10FFFF), checked here because `String(decoding:)` would silently repair it and
    /// `String(validating:)` goes through generic code that costs a third of the parse time.
    static func isValidUTF8(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        var i = 0
        let count = bytes.count
        while i < count {
            let lead = bytes[i]
            if lead < 0x80 {
                i += 1
                continue
            }
            func continuation(_ k: Int) -> Bool { i + k < count && bytes[i + k] & 0xC0 == 0x80 }
            switch lead {
            case 0xC2...0xDF:
                guard continuation(1) else { return false }
                i += 2
            case 0xE0...0xEF:
                guard continuation(1), continuation(2) else { return false }
                let second = bytes[i + 1]
                if lead == 0xE0 && second < 0xA0 { return false }  // overlong
                if lead == 0xED && second > 0x9F { return false }  // UTF-16 surrogate
                i += 3
            case 0xF0...0xF4:
                guard continuation(1), continuation(2), continuation(3) else { return false }
                let second = bytes[i + 1]
                if lead == 0xF0 && second < 0x90 { return false }  // overlong
                if lead == 0xF4 && second > 0x8F { return false }  // past U+10FFFF
                i += 4
            default:
                return false
            }
        }
        return true
    }

    private func controlCharacterError(at offset: Int) -> SyntaxError {
        SyntaxError(message: "unescaped control character \(hex(bytes[offset])) in a string", offset: offset)
    }

    /// An escape at `position` (its backslash), appended to `buffer` as UTF-8.
    private mutating func parseEscape(into buffer: inout [UInt8]) throws(SyntaxError) {
        let start = position
        guard position + 1 < bytes.count else { throw SyntaxError(message: "unterminated string", offset: start) }
        let code = bytes[position + 1]
        position += 2
        switch code {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): buffer.append(code)
        case UInt8(ascii: "b"): buffer.append(0x08)
        case UInt8(ascii: "f"): buffer.append(0x0C)
        case UInt8(ascii: "n"): buffer.append(0x0A)
        case UInt8(ascii: "r"): buffer.append(0x0D)
        case UInt8(ascii: "t"): buffer.append(0x09)
        case UInt8(ascii: "u"):
            var scalar = try parseHexQuad(escapeAt: start)
            if (0xD800..<0xDC00).contains(scalar) {
                // A high surrogate must be followed by an escaped low surrogate.
                let isPair = position + 1 < bytes.count && bytes[position] == UInt8(ascii: "\\") && bytes[position + 1] == UInt8(ascii: "u")
                guard isPair else { throw loneSurrogateError(scalar, at: start) }
                position += 2
                let low = try parseHexQuad(escapeAt: position - 2)
                guard (0xDC00..<0xE000).contains(low) else { throw loneSurrogateError(scalar, at: start) }
                scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
            } else if (0xDC00..<0xE000).contains(scalar) {
                throw loneSurrogateError(scalar, at: start)
            }
            buffer.append(contentsOf: UTF8.encode(Unicode.Scalar(scalar)!)!)
        default:
            throw SyntaxError(message: "invalid escape '\\\(describeCharacter(code))' in a string", offset: start)
        }
    }

    private mutating func parseHexQuad(escapeAt start: Int) throws(SyntaxError) -> UInt32 {
        guard position + 4 <= bytes.count else { throw SyntaxError(message: "\\u escape needs four hex digits", offset: start) }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[position]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw SyntaxError(message: "\\u escape needs four hex digits", offset: start)
            }
            value = value << 4 | UInt32(digit)
            position += 1
        }
        return value
    }

    private func loneSurrogateError(_ value: UInt32, at offset: Int) -> SyntaxError {
        let digits = String(value, radix: 16, uppercase: true)
        return SyntaxError(message: "lone UTF-16 surrogate \\u\(digits) in a string (not valid Unicode)", offset: offset)
    }

    // MARK: - Numbers

    /// A number per the JSON grammar: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
    private mutating func parseNumber() throws(SyntaxError) -> Double {
        let start = position
        if bytes[position] == UInt8(ascii: "-") { position += 1 }
        guard position < bytes.count, isDigit(bytes[position]) else {
            throw SyntaxError(message: "invalid number: expected a digit", offset: position)
        }
        if bytes[position] == UInt8(ascii: "0") {
            position += 1
            if position < bytes.count, isDigit(bytes[position]) {
                throw SyntaxError(message: "invalid number: leading zero", offset: start)
            }
        } else {
            skipDigits()
        }
        if position < bytes.count, bytes[position] == UInt8(ascii: ".") {
            position += 1
            guard position < bytes.count, isDigit(bytes[position]) else {
                throw SyntaxError(message: "invalid number: expected a digit after '.'", offset: position)
            }
            skipDigits()
        }
        if position < bytes.count, bytes[position] == UInt8(ascii: "e") || bytes[position] == UInt8(ascii: "E") {
            position += 1
            if position < bytes.count, bytes[position] == UInt8(ascii: "+") || bytes[position] == UInt8(ascii: "-") { position += 1 }
            guard position < bytes.count, isDigit(bytes[position]) else {
                throw SyntaxError(message: "invalid number: expected a digit in the exponent", offset: position)
            }
            skipDigits()
        }
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)
        guard let value = Double(text), value.isFinite else {
            throw SyntaxError(message: "number \(text) is out of range", offset: start)
        }
        return value
    }

    private func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

    private mutating func skipDigits() {
        while position < bytes.count, isDigit(bytes[position]) { position += 1 }
    }

    // MARK: - Helpers

    private mutating func skipWhitespace() {
        while position < bytes.count {
            switch bytes[position] {
            case 0x20, 0x09, 0x0A, 0x0D: position += 1
            default: return
            }
        }
    }

    /// "'x'", "end of the line", or "byte 0xFF" for error messages.
    private func describeByte(at offset: Int) -> String {
        guard offset < bytes.count else { return "end of the line" }
        let byte = bytes[offset]
        if byte >= 0x20 && byte < 0x7F { return "'\(describeCharacter(byte))'" }
        return "byte \(hex(byte))"
    }

    private func describeCharacter(_ byte: UInt8) -> String {
        byte >= 0x20 && byte < 0x7F ? String(UnicodeScalar(byte)) : hex(byte)
    }

    private func hex(_ byte: UInt8) -> String {
        let digits = String(byte, radix: 16, uppercase: true)
        return "0x" + (digits.count == 1 ? "0" + digits : digits)
    }
}
