import Foundation
import RLHFData

// Rule-based rewards: small, exact, documented formulas for tests, demos and reward shaping.
// Each is a `RewardSource`; `ProgrammaticReward.make(name:arguments:)` builds one from the CLI's
// `rule:NAME:key=value,…` (see `RewardSpecification`).

/// The registry of built-in rule rewards.
public enum ProgrammaticReward {
    /// One built-in rule: its name, its arguments and a one-line description.
    public struct Rule: Sendable, Equatable {
        public let name: String
        /// The arguments, as `key=value` forms (optional ones in brackets).
        public let usage: String
        public let summary: String
    }

    /// Every built-in rule, in the order `rlhf` lists them.
    public static let rules: [Rule] = [
        Rule(name: "length", usage: "target=N[,unit=tokens|characters]",
             summary: "−|length − N| / N: 0 at exactly N tokens (default) or characters, −1 at 0 or 2N"),
        Rule(name: "keyword", usage: "word=W[,count=true]",
             summary: "1 if W occurs as a whole word (any case), else 0; with count=true, the number of occurrences"),
        Rule(name: "regex", usage: "pattern=P[,ignore-case=true]",
             summary: "1 if the regular expression P (ICU syntax) matches somewhere in the response, else 0"),
        Rule(name: "repetition", usage: "[n=3]",
             summary: "−(repeated word n-grams / all word n-grams): 0 without repeats, towards −1 for loops"),
        Rule(name: "json", usage: "",
             summary: "1 if the trimmed response parses as a JSON object or array, else 0"),
        Rule(name: "exact-match", usage: "[field=answer]",
             summary: "1 if the response's final answer (after ####/answer:, else its last number) equals the record's field, else 0"),
        Rule(name: "eos", usage: "",
             summary: "−1 if the response did not end with an end-of-sequence token (cut at the length limit), else 0"),
    ]

    /// The names of the built-in rules.
    public static var names: [String] { rules.map(\.name) }

    /// Builds the rule `name` with its `arguments` (as parsed from `rule:NAME:key=value,…`).
    /// - Throws: ``RewardError`` for an unknown rule, an unknown argument, a missing required
    ///   argument or a value that does not parse (an invalid regular expression, a target of 0, …).
    public static func make(name: String, arguments: [String: String] = [:]) throws -> any RewardSource {
        var reader = ArgumentReader(rule: name, arguments: arguments)
        let source: any RewardSource
        switch name {
        case "length":
            let target = try reader.positiveInteger("target")
            let unit: LengthReward.Unit
            switch try reader.optional("unit") {
            case nil, "tokens": unit = .tokens
            case "characters": unit = .characters
            case let other?: throw reader.invalid("unit", other, expected: "tokens or characters")
            }
            source = LengthReward(target: target, unit: unit)
        case "keyword":
            let word = try reader.required("word")
            let count = try reader.boolean("count") ?? false
            source = try KeywordReward(word: word, countOccurrences: count)
        case "regex":
            let pattern = try reader.required("pattern")
            let ignoreCase = try reader.boolean("ignore-case") ?? false
            source = try RegexReward(pattern: pattern, ignoreCase: ignoreCase)
        case "repetition":
            source = RepetitionPenalty(n: try reader.optionalPositiveInteger("n") ?? 3)
        case "json":
            source = JSONFormatReward()
        case "exact-match":
            let field = try reader.optional("field") ?? "answer"
            guard !field.isEmpty else { throw reader.invalid("field", field, expected: "a field name") }
            source = ExactMatchReward(field: field)
        case "eos":
            source = EOSPenalty()
        default:
            throw RewardError(
                source: "rule \(name)",
                reason: "unknown rule '\(name)' (known: \(names.joined(separator: ", ")))")
        }
        try reader.rejectUnused()
        return source
    }

    /// Reads a rule's arguments, remembering which were used so that the rest can be rejected.
    struct ArgumentReader {
        let rule: String
        let arguments: [String: String]
        var used: Set<String> = []

        init(rule: String, arguments: [String: String]) {
            self.rule = rule
            self.arguments = arguments
        }

        func error(_ reason: String) -> RewardError { RewardError(source: "rule \(rule)", reason: reason) }

        func invalid(_ key: String, _ value: String, expected: String) -> RewardError {
            error("invalid value '\(value)' for '\(key)': expected \(expected)")
        }

        mutating func optional(_ key: String) throws -> String? {
            used.insert(key)
            return arguments[key]
        }

        mutating func required(_ key: String) throws -> String {
            guard let value = try optional(key) else {
                let usage = ProgrammaticReward.rules.first { $0.name == rule }?.usage ?? ""
                throw error("missing argument '\(key)' (usage: rule:\(rule):\(usage))")
            }
            return value
        }

        mutating func positiveInteger(_ key: String) throws -> Int {
            let text = try required(key)
            guard let value = Int(text), value > 0 else { throw invalid(key, text, expected: "a positive integer") }
            return value
        }

        mutating func optionalPositiveInteger(_ key: String) throws -> Int? {
            guard let text = try optional(key) else { return nil }
            guard let value = Int(text), value > 0 else { throw invalid(key, text, expected: "a positive integer") }
            return value
        }

        mutating func boolean(_ key: String) throws -> Bool? {
            switch try optional(key) {
            case nil: return nil
            case "true": return true
            case "false": return false
            case let other?: throw invalid(key, other, expected: "true or false")
            }
        }

        func rejectUnused() throws {
            let unknown = arguments.keys.filter { !used.contains($0) }.sorted()
            guard unknown.isEmpty else {
                let known = used.sorted()
                throw error(
                    "unknown argument\(unknown.count == 1 ? "" : "s") \(unknown.map { "'\($0)'" }.joined(separator: ", "))"
                        + (known.isEmpty ? " (it takes none)" : " (known: \(known.joined(separator: ", ")))"))
            }
        }
    }
}

/// "response 3 of 8", the way every reward error names a response (1-based).
func responseLabel(_ index: Int, of count: Int) -> String { "response \(index + 1) of \(count)" }

// MARK: - length

/// `length`: reward = −|len − target| / target, where len is the response's length in tokens
/// (`responseTokens.count`, the default unit) or in characters (Unicode scalars, what Python's
/// `len(str)` counts). 0 at exactly `target`, −1 at 0 or 2·target, unbounded below for longer
/// responses.
///
/// With the token unit, a response that has text but no tokens is an error rather than a guess.
public struct LengthReward: RewardSource {
    public enum Unit: String, Sendable { case tokens, characters }
    public let target: Int
    public let unit: Unit

    public init(target: Int, unit: Unit = .tokens) {
        precondition(target > 0, "LengthReward: the target must be positive")
        self.target = target
        self.unit = unit
    }

    public var name: String { "length(target=\(target),unit=\(unit.rawValue))" }

    public func scores(for inputs: [RewardInput]) throws -> [Double] {
        try inputs.enumerated().map { index, input in
            let length: Int
            switch unit {
            case .characters:
                length = input.response.unicodeScalars.count
            case .tokens:
                if input.responseTokens.isEmpty && !input.response.isEmpty {
                    throw RewardError(
                        source: name,
                        reason: "\(responseLabel(index, of: inputs.count)) has text but no tokens; use unit=characters")
                }
                length = input.responseTokens.count
            }
            return -Double(abs(length - target)) / Double(target)
        }
    }
}

// MARK: - keyword

/// `keyword`: 1 when `word` occurs in the response as a whole word, compared case-insensitively,
/// else 0. "Whole word": the match is neither preceded nor followed by a letter, combining mark or
/// digit (so `please` matches "Please!" but not "pleased"). `word` may contain spaces or
/// punctuation; it is matched literally. With `countOccurrences`, the reward is the number of
/// non-overlapping occurrences instead (0, 1, 2, …).
public struct KeywordReward: RewardSource {
    public let word: String
    public let countOccurrences: Bool
    private let expression: SendableRegex

    public init(word: String, countOccurrences: Bool = false) throws {
        guard !word.isEmpty else {
            throw RewardError(source: "rule keyword", reason: "the word must not be empty")
        }
        self.word = word
        self.countOccurrences = countOccurrences
        let pattern = "(?<![\\p{L}\\p{M}\\p{N}])" + NSRegularExpression.escapedPattern(for: word) + "(?![\\p{L}\\p{M}\\p{N}])"
        expression = try SendableRegex(pattern: pattern, ignoreCase: true, rule: "keyword")
    }

    public var name: String { "keyword(word=\(word)\(countOccurrences ? ",count=true" : ""))" }

    public func scores(for inputs: [RewardInput]) throws -> [Double] {
        inputs.map { input in
            countOccurrences ? Double(expression.matchCount(in: input.response)) : (expression.matches(input.response) ? 1 : 0)
        }
    }
}

// MARK: - regex

/// `regex`: 1 when the regular expression `pattern` (ICU syntax, as `NSRegularExpression`) matches
/// anywhere in the response, else 0. Anchor it (`^…$`, with `(?s)` for multi-line responses) to
/// require a whole-response match. An invalid pattern is an error at construction.
public struct RegexReward: RewardSource {
    public let pattern: String
    public let ignoreCase: Bool
    private let expression: SendableRegex

    public init(pattern: String, ignoreCase: Bool = false) throws {
        self.pattern = pattern
        self.ignoreCase = ignoreCase
        expression = try SendableRegex(pattern: pattern, ignoreCase: ignoreCase, rule: "regex")
    }

    public var name: String { "regex(pattern=\(pattern)\(ignoreCase ? ",ignore-case=true" : ""))" }

    public func scores(for inputs: [RewardInput]) throws -> [Double] {
        inputs.map { expression.matches($0.response) ? 1 : 0 }
    }
}

/// A compiled `NSRegularExpression`, which is immutable and safe to share once built.
struct SendableRegex: @unchecked Sendable {
    let expression: NSRegularExpression

    init(pattern: String, ignoreCase: Bool, rule: String) throws {
        do {
            expression = try NSRegularExpression(pattern: pattern, options: ignoreCase ? [.caseInsensitive] : [])
        } catch {
            throw RewardError(source: "rule \(rule)", reason: "invalid regular expression '\(pattern)': \(error.localizedDescription)")
        }
    }

    func matches(_ text: String) -> Bool {
        expression.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) != nil
    }

    func matchCount(in text: String) -> Int {
        expression.numberOfMatches(in: text, range: NSRange(text.startIndex..., in: text))
    }

    func matchStrings(in text: String) -> [String] {
        expression.matches(in: text, range: NSRange(text.startIndex..., in: text)).compactMap {
            Range($0.range, in: text).map { String(text[$0]) }
        }
    }
}

// MARK: - repetition

/// `repetition`: reward = −(repeated n-grams / n-grams) over the response's words, where the words
/// are the maximal runs of letters, combining marks and digits, lowercased (punctuation and
/// whitespace separate them), the n-grams are the `max(0, words − n + 1)` runs of `n` consecutive
/// words (default n = 3), and an n-gram is "repeated" when the same n-gram occurred earlier in the
/// response (so `n-grams − distinct n-grams` of them). 0 for a response without repeats or with
/// fewer than n words; −(k−1)/k when one n-gram makes up the whole response k times over.
public struct RepetitionPenalty: RewardSource {
    public let n: Int
    private static let word = try! SendableRegex(pattern: "[\\p{L}\\p{M}\\p{N}]+", ignoreCase: false, rule: "repetition")

    public init(n: Int = 3) {
        precondition(n > 0, "RepetitionPenalty: n must be positive")
        self.n = n
    }

    public var name: String { "repetition(n=\(n))" }

    /// The lowercased words of `text`, as the penalty counts them.
    public static func words(_ text: String) -> [String] { word.matchStrings(in: text).map { $0.lowercased() } }

    public func scores(for inputs: [RewardInput]) throws -> [Double] {
        inputs.map { input in
            let words = Self.words(input.response)
            let total = words.count - n + 1
            guard total > 0 else { return 0 }
            var seen = Set<ArraySlice<String>>()
            var repeated = 0
            for start in 0..<total where !seen.insert(words[start..<(start + n)]).inserted { repeated += 1 }
            return -Double(repeated) / Double(total)
        }
    }
}

// MARK: - json

/// `json`: 1 when the response, with leading and trailing whitespace and newlines removed, parses
/// as a JSON object or array (strict JSON, `JSONSerialization`; a bare string or number does not
/// count, nor does a code fence around it), else 0.
public struct JSONFormatReward: RewardSource {
    public init() {}
    public var name: String { "json" }

    public func scores(for inputs: [RewardInput]) throws -> [Double] {
        inputs.map { input in
            let text = input.response.trimmingCharacters(in: .whitespacesAndNewlines)
            guard text.first == "{" || text.first == "[", let data = text.data(using: .utf8),
                  let value = try? JSONSerialization.jsonObject(with: data)
            else { return 0 }
            return value is [Any] || value is [String: Any] ? 1 : 0
        }
    }
}

// MARK: - exact-match

/// `exact-match`: 1 when the response's final answer equals the prompt record's `field` (default
/// `answer`), else 0.
///
/// The final answer is the text after the last `####` in the response, or failing that after the
/// last `answer:` (any case), from its first non-blank character to the end of that line; without
/// either marker it is the whole response.
///
/// - When the expected value is a number — a JSON number, or a string that is one after removing
///   a leading `$`, thousands commas and a trailing `.` (`"1,234"`, `"$5"`) — the final answer's
///   value is the last number in it (an optional `-`, digits with optional thousands commas, an
///   optional `.decimals`), and they match when equal as `Double` (`"72.0"` matches 72). A final
///   answer without a number scores 0.
/// - Otherwise both are compared as text after trimming, lowercasing, collapsing whitespace runs
///   to one space and dropping one trailing `.`.
///
/// A record without the field, or with a field that is neither a string nor a number, is an error
/// naming the response.
public struct ExactMatchReward: RewardSource {
    public let field: String
    private static let number = try! SendableRegex(
        pattern: "(?<!\\p{N})-?(?:\\d{1,3}(?:,\\d{3})+(?!\\d)|\\d+)(?:\\.\\d+)?", ignoreCase: false, rule: "exact-match")
    private static let plainNumber = try! SendableRegex(
        pattern: "^[-+]?(?:\\d+(?:\\.\\d*)?|\\.\\d+)$", ignoreCase: false, rule: "exact-match")

    public init(field: String = "answer") { self.field = field }

    public var name: String { "exact-match(field=\(field))" }

    /// The final answer of `response`, as described above.
    public static func finalAnswer(_ response: String) -> String {
        let marked = response.range(of: "####", options: .backwards)
            ?? response.range(of: "answer:", options: [.backwards, .caseInsensitive])
        guard let marker = marked else { return response.trimmingCharacters(in: .whitespacesAndNewlines) }
        let rest = response[marker.upperBound...].drop { $0.isWhitespace }
        return String(rest.prefix { !$0.isNewline }).trimmingCharacters(in: .whitespaces)
    }

    /// The last number in `text` (commas removed), if any.
    public static func lastNumber(_ text: String) -> Double? {
        number.matchStrings(in: text).last.flatMap { Double($0.replacingOccurrences(of: ",", with: "")) }
    }

    /// `text` as a number when it is one: `42`, `-3.5`, `1,234`, `$5`, `7.`.
    static func numericValue(_ text: String) -> Double? {
        var text = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if text.hasPrefix("$") { text.removeFirst() }
        if text.hasSuffix(".") { text.removeLast() }
        text = text.replacingOccurrences(of: ",", with: "")
        guard plainNumber.matches(text) else { return nil }
        return Double(text)
    }

    /// Trimmed, lowercased, whitespace runs collapsed, one trailing `.` dropped.
    static func normalizedText(_ text: String) -> String {
        var result = text.lowercased().split(whereSeparator: { $0.isWhitespace }).joined(separator: " ")
        if result.hasSuffix(".") { result.removeLast() }
        return result.trimmingCharacters(in: .whitespaces)
    }

    public func scores(for inputs: [RewardInput]) throws -> [Double] {
        try inputs.enumerated().map { index, input in
            guard let expected = input.fields[field] else {
                throw RewardError(
                    source: name, reason: "\(responseLabel(index, of: inputs.count)): its prompt record has no field '\(field)'")
            }
            let answer = Self.finalAnswer(input.response)
            let expectedNumber: Double?
            switch expected {
            case let .number(value): expectedNumber = value
            case let .string(text): expectedNumber = Self.numericValue(text)
            default:
                throw RewardError(
                    source: name,
                    reason: "\(responseLabel(index, of: inputs.count)): field '\(field)' is \(expected.kindDescription), not a string or number")
            }
            if let expectedNumber {
                guard let value = Self.lastNumber(answer) else { return 0 }
                return value == expectedNumber ? 1 : 0
            }
            return Self.normalizedText(answer) == Self.normalizedText(expected.string ?? "") ? 1 : 0
        }
    }
}

// MARK: - eos

/// `eos`: −1 when the response did not end with an end-of-sequence / end-of-turn token (it was
/// cut at the length limit), else 0. Add it to a task reward to discourage truncated answers.
public struct EOSPenalty: RewardSource {
    public init() {}
    public var name: String { "eos" }

    public func scores(for inputs: [RewardInput]) throws -> [Double] {
        inputs.map { $0.endedWithEOS ? 0 : -1 }
    }
}
