import ArgumentParser
import Foundation
import Yams

/// `--config FILE`: run settings kept in a JSON or YAML file, as TRL users keep them, turned into
/// command-line options before ArgumentParser parses.
///
/// The file's top level is a mapping from option names to values. A key is an option's long name
/// in TRL's snake case or in kebab case: `learning_rate` and `learning-rate` both mean
/// `--learning-rate`. A string or number becomes `--key=value` with the value's text as written
/// (YAML's scalar text, so `1e-5`, `0.05` and `18446744073709551615` arrive unchanged); `true`
/// becomes `--key` for a flag and `false` nothing; a list repeats a repeatable option; `null` sets
/// nothing. A nested mapping, a list of mappings, an unknown key or a `config` key is an error
/// that names the file and the key. So with
///
///     # runs/sft.yaml
///     preset: tiny
///     learning_rate: 1e-3
///     steps: 300
///
/// `rlhf sft --config runs/sft.yaml --data fables.txt --steps 20` runs
/// `rlhf sft --preset=tiny --learning-rate=1e-3 --data fables.txt --steps 20`: the file's `steps`
/// is dropped because the command line gives `--steps`. Paths in the file are taken relative to the
/// current directory, as on the command line.
///
/// **The command line wins.** The file's options go right after the subcommand name, before the
/// command line's own arguments, and every option that the command line also gives is dropped from
/// the file's part. For a single-valued option this is what ArgumentParser's "the last value wins"
/// would do anyway; for a repeatable option (`--stop`, `--reward`) it means that the command line's
/// values replace the file's instead of adding to them.
///
/// Keys are checked against the subcommand's own options, as ArgumentParser describes them
/// (``CommandInfo``), so a misspelt key fails before parsing, with the file's name rather than only
/// ArgumentParser's "Unknown option". Values are passed as `--key=value` so that one starting with
/// `-` (`-1`, `--- END ---`) is not read as an option.
enum ConfigFile {
    /// The command-line form of `arguments` (without the program name): `--config FILE` or
    /// `--config=FILE` after the subcommand name replaced by the file's settings, inserted right
    /// after the subcommand name; the arguments unchanged when there is no `--config`.
    ///
    /// - Parameters:
    ///   - arguments: The command line, subcommand name first: `["sft", "--config", "a.yaml"]`.
    ///   - root: The tool's root command, whose subcommands and options the keys are checked against.
    /// - Throws: ``ConfigFileError`` for a misplaced or repeated `--config`, an unreadable or
    ///   malformed file, or a setting the subcommand does not have.
    static func expand(_ arguments: [String], root: ParsableCommand.Type) throws -> [String] {
        guard arguments.contains(where: isConfigArgument) else { return arguments }
        return try expand(arguments, commands: CommandInfo.describing(root))
    }

    /// ``expand(_:root:)`` with the commands already described.
    static func expand(_ arguments: [String], commands root: CommandInfo) throws -> [String] {
        var command = root, path = [root.commandName], depth = 0
        while depth < arguments.count, let subcommand = command.subcommand(named: arguments[depth]) {
            command = subcommand
            path.append(subcommand.commandName)
            depth += 1
        }
        var user = Array(arguments[depth...])
        let terminator = user.firstIndex(of: "--") ?? user.endIndex
        let uses = user[..<terminator].indices.filter { isConfigArgument(user[$0]) }
        guard let use = uses.first else { return arguments }
        guard depth > 0 else {
            throw ConfigFileError(reason: "--config goes after the subcommand name: \(root.commandName) SUBCOMMAND --config FILE")
        }
        guard uses.count == 1 else { throw ConfigFileError(reason: "give --config once") }
        let file: String
        if user[use] == "--config" {
            guard use + 1 < terminator else { throw ConfigFileError(reason: "--config needs a file: --config FILE") }
            file = user[use + 1]
            user.removeSubrange(use...(use + 1))
        } else {
            file = String(user[use].dropFirst("--config=".count))
            user.remove(at: use)
        }
        guard !file.isEmpty else { throw ConfigFileError(reason: "--config needs a file: --config FILE") }

        let fromFile = try options(for: read(file), file: file, command: command, name: path.joined(separator: " "))
        let given = Set(user[..<(user.firstIndex(of: "--") ?? user.endIndex)].flatMap(command.optionIndices(of:)))
        let kept = fromFile.filter { !given.contains($0.option) }.flatMap(\.arguments)
        return Array(arguments[..<depth]) + kept + user
    }

    /// Whether a command-line argument is `--config` or `--config=FILE`.
    static func isConfigArgument(_ argument: String) -> Bool {
        argument == "--config" || argument.hasPrefix("--config=")
    }

    /// The command-line options that `settings` stand for, one entry per setting, in the order the
    /// command declares its options (so a JSON and a YAML file with the same settings agree).
    static func options(
        for settings: [Setting], file: String, command: CommandInfo, name: String
    ) throws -> [(option: Int, arguments: [String])] {
        let options = command.namedOptions
        var keys = [Int: String](), result = [(option: Int, arguments: [String])]()
        for setting in settings {
            func failure(_ reason: String) -> ConfigFileError { ConfigFileError(file: file, line: setting.line, reason: reason) }
            let key = setting.key, longName = key.replacingOccurrences(of: "_", with: "-")
            guard longName != "config" else { throw failure("'\(key)' cannot be set in a config file (no nested config files)") }
            guard let index = options.firstIndex(where: { $0.longName == longName }) else {
                if command.positionalNames.contains(longName) {
                    throw failure("'\(key)' is a positional argument of '\(name)': give it on the command line")
                }
                let suggestion = closest(to: longName, among: options.compactMap(\.longName)).map {
                    " (did you mean '\(key.contains("_") ? $0.replacingOccurrences(of: "-", with: "_") : $0)'?)"
                }
                throw failure("unknown setting '\(key)' for '\(name)'\(suggestion ?? "")")
            }
            if let previous = keys[index] {
                throw failure(previous == key ? "'\(key)' is set twice" : "'\(previous)' and '\(key)' both set --\(longName)")
            }
            keys[index] = key
            let option = options[index], spelled = "--" + longName
            switch setting.value {
            case .null:
                continue
            case let .scalar(text, isBool) where option.isFlag:
                guard let isBool else { throw failure("'\(key)' is a flag: give true or false, not '\(text)'") }
                result.append((index, isBool ? [spelled] : []))
            case .list where option.isFlag:
                throw failure("'\(key)' is a flag: give true or false, not a list")
            case let .scalar(text, _):
                result.append((index, ["\(spelled)=\(text)"]))
            case let .list(items):
                guard option.isRepeating else { throw failure("'\(key)' takes one value, not a list") }
                result.append((index, items.map { "\(spelled)=\($0)" }))
            }
        }
        return result.sorted { $0.option < $1.option }
    }

    /// The name within two edits of `name` (the closest), if any: a hint for a misspelt key.
    static func closest(to name: String, among names: [String]) -> String? {
        func distance(_ a: [Character], _ b: [Character]) -> Int {
            var previous = Array(0...b.count)
            for (i, x) in a.enumerated() {
                var current = [i + 1]
                for (j, y) in b.enumerated() { current.append(min(previous[j + 1] + 1, current[j] + 1, previous[j] + (x == y ? 0 : 1))) }
                previous = current
            }
            return previous[b.count]
        }
        let scored = names.map { ($0, distance(Array(name), Array($0))) }.filter { $0.1 <= 2 }
        return scored.min { $0.1 < $1.1 }?.0
    }
}

// MARK: - Reading the file

extension ConfigFile {
    /// One top-level entry of a config file, its value already reduced to command-line text.
    struct Setting: Equatable {
        enum Value: Equatable {
            /// `null` (YAML `~` or nothing): the option is left alone.
            case null
            /// A string, number or boolean as written; `isBool` is the boolean it stands for, if it is one.
            case scalar(String, isBool: Bool?)
            /// A list of scalars, as written.
            case list([String])
        }

        var key: String
        var value: Value
        /// The key's 1-based line (YAML files only).
        var line: Int?
    }

    /// The settings of a config file: JSON for `.json`, YAML for `.yaml` / `.yml`, otherwise JSON if
    /// it parses as JSON, else YAML.
    static func read(_ file: String) throws -> [Setting] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: file, isDirectory: &isDirectory) else {
            throw ConfigFileError(file: file, reason: "no such config file")
        }
        guard !isDirectory.boolValue else { throw ConfigFileError(file: file, reason: "is a directory, not a config file") }
        // A FileHandle also reads a pipe (`--config <(…)`), which `Data(contentsOf:)` refuses on Linux.
        guard let handle = FileHandle(forReadingAtPath: file), let data = try? handle.readToEnd() ?? Data() else {
            throw ConfigFileError(file: file, reason: "cannot read the config file")
        }
        switch (file as NSString).pathExtension.lowercased() {
        case "json": return try settings(json: data, file: file)
        case "yaml", "yml": return try settings(yaml: data, file: file)
        default:
            if (try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])) != nil {
                return try settings(json: data, file: file)
            }
            return try settings(yaml: data, file: file)
        }
    }

    /// The settings of a JSON object (numbers as Foundation prints them: integers exactly, others
    /// in the shortest form that reads back as the same double).
    static func settings(json data: Data, file: String) throws -> [Setting] {
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
        } catch {
            var reason = ((error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String) ?? "\(error)"
            var position: (line: Int, column: Int)?
            // Foundation gives a byte offset ("Invalid value around character 8."): make it a line and column.
            if let match = reason.range(of: #" around character [0-9]+"#, options: .regularExpression),
               let offset = Int(reason[match].filter(\.isNumber)) {
                position = lineAndColumn(after: String(decoding: data.prefix(offset), as: UTF8.self))
                reason.removeSubrange(match)
            }
            throw ConfigFileError(
                file: file, line: position?.line, column: position?.column,
                reason: "not valid JSON: " + reason.trimmingCharacters(in: CharacterSet(charactersIn: ".")))
        }
        guard let mapping = object as? [String: Any] else {
            throw ConfigFileError(file: file, reason: "the top level is \(jsonKind(object)), not a mapping of settings (option: value)")
        }
        return try mapping.map { key, value in
            func nested(_ what: String) -> ConfigFileError {
                ConfigFileError(file: file, reason: "'\(key)' is \(what); a setting is a string, number, boolean or list of them")
            }
            switch value {
            case is NSNull: return Setting(key: key, value: .null)
            case is [String: Any]: throw nested("a mapping")
            case let items as [Any]:
                return Setting(key: key, value: .list(try items.map {
                    guard let text = jsonScalar($0)?.text else { throw nested("a list containing \(jsonKind($0))") }
                    return text
                }))
            default:
                guard let scalar = jsonScalar(value) else { throw nested(jsonKind(value)) }
                return Setting(key: key, value: .scalar(scalar.text, isBool: scalar.isBool))
            }
        }
    }

    /// A JSON string, number or boolean as text (and the boolean, for a boolean); nil otherwise.
    static func jsonScalar(_ value: Any) -> (text: String, isBool: Bool?)? {
        if let string = value as? String { return (string, nil) }
        guard let number = value as? NSNumber else { return nil }
        // JSONSerialization returns booleans as NSNumbers of their own class (`1` is not `true`).
        if type(of: number) == type(of: NSNumber(value: true)) { return (number.boolValue ? "true" : "false", number.boolValue) }
        return (number.stringValue, nil)
    }

    static func jsonKind(_ value: Any) -> String {
        switch value {
        case is [String: Any]: return "a mapping"
        case is [Any]: return "a list"
        case is NSNull: return "null"
        case is String: return "a string"
        default: return jsonScalar(value)?.isBool != nil ? "a boolean" : "a number"
        }
    }

    /// The 1-based line and column (in Unicode scalars, as libyaml counts) just after `text`.
    static func lineAndColumn(after text: String) -> (line: Int, column: Int) {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        return (lines.count, (lines.last?.unicodeScalars.count ?? 0) + 1)
    }

    /// The settings of a YAML mapping. Scalars keep their text as written; `null`, `~` or nothing
    /// is null; YAML 1.1 booleans (`true`, `false`, `yes`, `no`, `on`, `off`) are booleans, as
    /// PyYAML, and so TRL, reads them; quoted scalars are strings.
    static func settings(yaml data: Data, file: String) throws -> [Setting] {
        guard let text = String(data: data, encoding: .utf8) else { throw ConfigFileError(file: file, reason: "not UTF-8 text") }
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            throw yamlFailure(error, file: file)
        }
        guard let root else { throw ConfigFileError(file: file, reason: "no settings: expected a mapping such as 'learning_rate: 1e-5'") }
        guard case let .mapping(mapping) = root else {
            throw ConfigFileError(
                file: file, line: root.mark?.line, reason: "the top level is \(yamlKind(root)), not a mapping of settings (option: value)")
        }
        return try mapping.map { keyNode, value in
            guard case let .scalar(keyScalar) = keyNode else {
                throw ConfigFileError(file: file, line: keyNode.mark?.line, reason: "a key is \(yamlKind(keyNode)), not an option name")
            }
            let key = keyScalar.string, line = keyNode.mark?.line
            func nested(_ what: String) -> ConfigFileError {
                ConfigFileError(file: file, line: line, reason: "'\(key)' is \(what); a setting is a string, number, boolean or list of them")
            }
            switch value {
            case let .scalar(scalar):
                switch tagName(value) {
                case .null: return Setting(key: key, value: .null, line: line)
                case .bool: return Setting(key: key, value: .scalar(scalar.string, isBool: value.bool), line: line)
                default: return Setting(key: key, value: .scalar(scalar.string, isBool: nil), line: line)
                }
            case let .sequence(items):
                return Setting(key: key, value: .list(try items.map {
                    guard case let .scalar(item) = $0, tagName($0) != .null else { throw nested("a list containing \(yamlKind($0))") }
                    return item.string
                }), line: line)
            case .mapping:
                throw nested("a mapping")
            }
        }
    }

    /// The node's resolved tag (`Tag.name` is internal to Yams; its description is the name).
    static func tagName(_ node: Node) -> Tag.Name { Tag.Name(rawValue: node.tag.description) }

    static func yamlKind(_ node: Node) -> String {
        switch node {
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .scalar: return tagName(node) == .null ? "null" : "a scalar ('\(node.scalar?.string ?? "")')"
        }
    }

    /// One line from Yams' multi-line description: `FILE:LINE:COLUMN: not valid YAML: problem (context)`.
    static func yamlFailure(_ error: YamlError, file: String) -> ConfigFileError {
        switch error {
        case let .scanner(context, problem, mark, _), let .parser(context, problem, mark, _), let .composer(context, problem, mark, _):
            let during = context.map { " (\($0.text) at line \($0.mark.line), column \($0.mark.column))" } ?? ""
            return ConfigFileError(file: file, line: mark.line, column: mark.column, reason: "not valid YAML: \(problem)\(during)")
        case let .reader(problem, offset, _, yaml):
            let position = offset.map { lineAndColumn(after: String(yaml.prefix($0))) }  // `offset` counts characters
            return ConfigFileError(file: file, line: position?.line, column: position?.column, reason: "not valid YAML: \(problem)")
        default:
            return ConfigFileError(file: file, reason: "not valid YAML: \(error)")
        }
    }
}

/// A `--config` file that cannot be used, or `--config` itself misused:
/// `runs/sft.yaml:3: unknown setting 'learnin_rate' for 'rlhf sft' (did you mean 'learning_rate'?)`.
struct ConfigFileError: Error, CustomStringConvertible, Equatable {
    /// The file as given after `--config`; nil when the command line's use of `--config` is wrong.
    var file: String?
    /// The 1-based line and column of the problem, where the parser gives them.
    var line: Int?
    var column: Int?
    /// What is wrong.
    var reason: String

    init(file: String? = nil, line: Int? = nil, column: Int? = nil, reason: String) {
        self.file = file
        self.line = line
        self.column = column
        self.reason = reason
    }

    /// `FILE:LINE:COLUMN: reason`, as much of the position as is known.
    var description: String {
        guard let file else { return reason }
        let position = line.map { ":\($0)" + (column.map { ":\($0)" } ?? "") } ?? ""
        return "\(file)\(position): \(reason)"
    }
}

// MARK: - The commands' options

/// A command, its subcommands and its arguments as ArgumentParser describes them: the JSON that
/// `--experimental-dump-help` prints (ArgumentParser's `ToolInfoV0`), decoded in part.
struct CommandInfo: Decodable {
    /// One argument: an option, a flag or a positional argument.
    struct Argument: Decodable {
        struct Name: Decodable {
            /// `long`, `short` or `longWithSingleDash`.
            var kind: String
            var name: String
        }

        /// `option`, `flag` or `positional`.
        var kind: String
        var isRepeating: Bool
        var names: [Name]?
        var valueName: String?

        var isFlag: Bool { kind == "flag" }
        /// The first `--name`, without the dashes.
        var longName: String? { names?.first { $0.kind == "long" }?.name }
    }

    var commandName: String
    var aliases: [String]?
    var subcommands: [CommandInfo]?
    var arguments: [Argument]?

    /// The description of `root` and all its subcommands.
    static func describing(_ root: ParsableCommand.Type) throws -> CommandInfo {
        // ArgumentParser answers `--experimental-dump-help` with an "error" whose message is the JSON.
        var text = ""
        do { _ = try root.parseAsRoot(["--experimental-dump-help"]) } catch { text = root.message(for: error) }
        struct ToolInfo: Decodable { var command: CommandInfo }
        do {
            return try JSONDecoder().decode(ToolInfo.self, from: Data(text.utf8)).command
        } catch {
            throw ConfigFileError(reason: "--config: cannot list the options of '\(root.configuration.commandName ?? "")': \(error)")
        }
    }

    func subcommand(named name: String) -> CommandInfo? {
        subcommands?.first { $0.commandName == name || ($0.aliases ?? []).contains(name) }
    }

    /// The options and flags that a config file may set, in declaration order: every named
    /// argument with a long name but `--help` and `--version`.
    var namedOptions: [Argument] {
        (arguments ?? []).filter { $0.kind != "positional" && $0.longName != nil && !["help", "version"].contains($0.longName) }
    }

    var positionalNames: [String] { (arguments ?? []).filter { $0.kind == "positional" }.compactMap(\.valueName) }

    /// The indices in ``namedOptions`` of the options that a command-line argument names:
    /// `--seed` or `--seed=3`, `-s`, or grouped short flags (`-ab`); none for a value.
    func optionIndices(of argument: String) -> [Int] {
        guard argument.hasPrefix("-"), argument.count > 1 else { return [] }
        let name = argument.split(separator: "=", maxSplits: 1)[0]
        let options = namedOptions
        func indices(_ kind: String, _ name: Substring) -> [Int] {
            options.indices.filter { options[$0].names?.contains { $0.kind == kind && $0.name == name } ?? false }
        }
        if name.hasPrefix("--") { return indices("long", name.dropFirst(2)) }
        let single = indices("longWithSingleDash", name.dropFirst())
        return single.isEmpty ? name.dropFirst().flatMap { indices("short", Substring(String($0))) } : single
    }
}
