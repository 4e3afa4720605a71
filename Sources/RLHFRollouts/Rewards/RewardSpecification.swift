import Foundation

/// One `--reward` option, parsed:
///
/// | text | case |
/// |---|---|
/// | `rule:NAME[:key=value,key=value…]` | ``rule(name:arguments:)`` — a ``ProgrammaticReward`` (`rule:length:target=64`, `rule:keyword:word=please`, `rule:exact-match:field=answer`) |
/// | `command:SHELL COMMAND` | ``command(_:)`` — a ``CommandReward``; everything after `command:` is run with `/bin/sh -c` |
/// | `model:PATH` | ``model(path:)`` — a trained reward model |
/// | `ensemble:PATH[:mean\|wco\|uwo[:lambda=X]]` | ``ensemble(path:combiner:lambda:)`` — a reward-model ensemble |
///
/// Rule arguments are split at commas that begin a new `key=` (a key being a letter followed by
/// letters, digits, `-` or `_`), so a value may itself contain commas or colons
/// (`rule:regex:pattern=\d{1,3}:\d{2}`); it cannot contain `,key=`. A rule's name is checked here,
/// its arguments when ``ProgrammaticReward/make(name:arguments:)`` builds it.
///
/// For an ensemble the combiner is `mean`, `wco` or `uwo` (any case; `worst-case` and
/// `uncertainty-weighted` too), `mean` when omitted; `lambda` (≥ 0, the uncertainty weight; nil
/// when omitted) is accepted only with `uwo`. The path may contain `:` unless what follows its
/// last `:` is a bare word (letters and `-`), which is read as the combiner.
public enum RewardSpecification: Equatable, Sendable, CustomStringConvertible {
    case rule(name: String, arguments: [String: String])
    case command(String)
    case model(path: String)
    /// `combiner` nil: the one the ensemble's manifest names.
    case ensemble(path: String, combiner: String?, lambda: Double?)

    /// The ensemble combiners: the mean, worst-case optimisation (the minimum) and
    /// uncertainty-weighted optimisation (mean − λ·variance), as `EnsembleCombiner` names them.
    public static let ensembleCombiners = ["mean", "wco", "uwo"]

    /// The combiner's short name for `name` (any case; `worst-case` and `uncertainty-weighted`
    /// are accepted as in `EnsembleCombiner`), or nil.
    static func combinerName(_ name: String) -> String? {
        switch name.lowercased() {
        case "mean": return "mean"
        case "wco", "worst-case": return "wco"
        case "uwo", "uncertainty-weighted": return "uwo"
        default: return nil
        }
    }

    static let forms =
        "rule:NAME[:key=value,…], command:SHELL COMMAND, model:PATH or ensemble:PATH[:mean|wco|uwo[:lambda=X]]"

    /// Parses one `--reward` value.
    /// - Throws: ``RewardError`` saying what is wrong and which forms are valid.
    public init(parsing text: String) throws {
        func failure(_ reason: String) -> RewardError { RewardError(source: "specification '\(text)'", reason: reason) }
        guard let colon = text.firstIndex(of: ":") else {
            throw failure(text.isEmpty ? "empty; expected \(Self.forms)" : "no kind; expected \(Self.forms)")
        }
        let kind = String(text[..<colon])
        let rest = String(text[text.index(after: colon)...])
        switch kind {
        case "rule":
            let name: String, argumentText: String?
            if let separator = rest.firstIndex(of: ":") {
                name = String(rest[..<separator])
                argumentText = String(rest[rest.index(after: separator)...])
            } else {
                name = rest
                argumentText = nil
            }
            guard !name.isEmpty else {
                throw failure("no rule name; expected rule:NAME with NAME one of \(ProgrammaticReward.names.joined(separator: ", "))")
            }
            guard ProgrammaticReward.names.contains(name) else {
                throw failure("unknown rule '\(name)' (known: \(ProgrammaticReward.names.joined(separator: ", ")))")
            }
            do {
                self = .rule(name: name, arguments: try Self.parseArguments(argumentText ?? ""))
            } catch let reason as ArgumentSyntaxError {
                throw failure(reason.reason)
            }
        case "command":
            let command = rest.trimmingCharacters(in: .whitespaces)
            guard !command.isEmpty else { throw failure("no command after 'command:'") }
            self = .command(command)
        case "model":
            guard !rest.isEmpty else { throw failure("no path after 'model:'") }
            self = .model(path: rest)
        case "ensemble":
            var parts = rest.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
            var lambda: Double?
            var combiner: String?
            if parts.count > 1, let last = parts.last, last.hasPrefix("lambda=") {
                let value = String(last.dropFirst("lambda=".count))
                guard let number = Double(value), number.isFinite, number >= 0 else {
                    throw failure("invalid lambda '\(value)': expected a finite number ≥ 0")
                }
                lambda = number
                parts.removeLast()
                guard parts.count > 1, Self.combinerName(parts[parts.count - 1]) != nil else {
                    throw failure("lambda needs a combiner before it: ensemble:PATH:uwo:lambda=\(value)")
                }
            }
            if parts.count > 1, let last = parts.last, last.first?.isLetter == true,
               last.allSatisfy({ $0.isLetter || $0 == "-" }) {
                guard let name = Self.combinerName(last) else {
                    throw failure("unknown combiner '\(last)' (known: \(Self.ensembleCombiners.joined(separator: ", ")))")
                }
                combiner = name
                parts.removeLast()
            }
            if lambda != nil && combiner != "uwo" {
                throw failure("lambda applies only to the uwo combiner, not \(combiner ?? "none")")
            }
            let path = parts.joined(separator: ":")
            guard !path.isEmpty else { throw failure("no path after 'ensemble:'") }
            self = .ensemble(path: path, combiner: combiner, lambda: lambda)
        default:
            throw failure("unknown kind '\(kind)'; expected \(Self.forms)")
        }
    }

    struct ArgumentSyntaxError: Error { let reason: String }

    /// `key=value,key=value` → dictionary; a comma that does not start a new `key=` stays in the value.
    static func parseArguments(_ text: String) throws -> [String: String] {
        guard !text.isEmpty else { return [:] }
        func keyEnd(_ segment: Substring) -> String.Index? {
            guard let equals = segment.firstIndex(of: "="), let first = segment.first, first.isASCII, first.isLetter else { return nil }
            let key = segment[..<equals]
            return key.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }) ? equals : nil
        }
        var pairs: [(key: String, value: String)] = []
        for segment in text.split(separator: ",", omittingEmptySubsequences: false) {
            if let equals = keyEnd(segment) {
                let key = String(segment[..<equals])
                guard !pairs.contains(where: { $0.key == key }) else {
                    throw ArgumentSyntaxError(reason: "argument '\(key)' given twice")
                }
                pairs.append((key, String(segment[segment.index(after: equals)...])))
            } else if !pairs.isEmpty {
                pairs[pairs.count - 1].value += "," + segment
            } else {
                throw ArgumentSyntaxError(reason: "expected key=value arguments, found '\(segment)'")
            }
        }
        return Dictionary(uniqueKeysWithValues: pairs.map { ($0.key, $0.value) })
    }

    /// The canonical text, which parses back to the same value.
    public var description: String {
        switch self {
        case let .rule(name, arguments):
            if arguments.isEmpty { return "rule:\(name)" }
            return "rule:\(name):" + arguments.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
        case let .command(command): return "command:\(command)"
        case let .model(path): return "model:\(path)"
        case let .ensemble(path, combiner, lambda):
            return "ensemble:\(path)" + (combiner.map { ":\($0)" } ?? "") + (lambda.map { ":lambda=\($0)" } ?? "")
        }
    }
}
