import Foundation

/// JSON of configurations and results: snake_case keys, sorted, indented; a configuration file
/// gives only the keys that differ from the defaults.
extension ExperimentConfiguration {
    /// Optional keys, absent from the encoded defaults while nil, that a file may still give.
    static let optionalKeys: Set<String> = ["policy.model"]

    public func encodedJSON() throws -> Data { try ExperimentJSON.encode(self) }

    /// A configuration from a decoded JSON or YAML document (a dictionary): its keys replace the
    /// defaults', recursively; a key the configuration does not have is an error naming it
    /// (with the closest known key), as is a value of the wrong type.
    public static func decode(document: Any, file: String) throws -> ExperimentConfiguration {
        guard let settings = document as? [String: Any] else {
            throw ExperimentError.invalid("\(file): the configuration must be a mapping of keys to values")
        }
        let defaults = try JSONSerialization.jsonObject(with: ExperimentConfiguration().encodedJSON()) as! [String: Any]
        let merged = try merge(settings, into: defaults, path: "", file: file)
        let data = try JSONSerialization.data(withJSONObject: merged)
        do {
            return try ExperimentJSON.decoder.decode(ExperimentConfiguration.self, from: data)
        } catch let DecodingError.typeMismatch(type, context), let DecodingError.valueNotFound(type, context) {
            throw ExperimentError.invalid("\(file): \(Self.path(context.codingPath)): expected \(type)")
        } catch let DecodingError.dataCorrupted(context) {
            throw ExperimentError.invalid("\(file): \(Self.path(context.codingPath)): \(context.debugDescription)")
        } catch let DecodingError.keyNotFound(key, context) {
            throw ExperimentError.invalid("\(file): \(Self.path(context.codingPath + [key])): missing")
        }
    }

    /// A coding path as the file spells it: `reinforcement.learning_rate`, `runs.[0].betas`.
    static func path(_ keys: [any CodingKey]) -> String {
        keys.map { key in key.intValue.map { "[\($0)]" } ?? snakeCase(key.stringValue) }.joined(separator: ".")
    }

    static func snakeCase(_ name: String) -> String {
        var result = ""
        for character in name {
            if character.isUppercase, !result.isEmpty { result += "_" }
            result += character.lowercased()
        }
        return result
    }

    static func merge(_ settings: [String: Any], into defaults: [String: Any], path: String, file: String) throws -> [String: Any] {
        var result = defaults
        for key in settings.keys.sorted() {
            let value = settings[key]!
            let name = key.replacingOccurrences(of: "-", with: "_")
            let full = path.isEmpty ? name : path + "." + name
            guard let current = defaults[name] else {
                guard optionalKeys.contains(full) else {
                    let known = defaults.keys.sorted()
                    throw ExperimentError.invalid("\(file): unknown key '\(full)' (known here: \(known.joined(separator: ", ")))")
                }
                result[name] = value
                continue
            }
            if let nested = current as? [String: Any], let given = value as? [String: Any] {
                result[name] = try merge(given, into: nested, path: full, file: file)
            } else {
                result[name] = value
            }
        }
        return result
    }
}

extension ExperimentResults {
    public func encodedJSON() throws -> Data { try ExperimentJSON.encode(self) }
}

/// The encoder and decoder of the experiment's files.
enum ExperimentJSON {
    static func encode<Value: Encodable>(_ value: Value) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        return try encoder.encode(value) + Data("\n".utf8)
    }

    static var decoder: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        return decoder
    }
}
