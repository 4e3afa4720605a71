import Foundation
import Testing
import _RLHFTestSupport

@testable import rlhf

/// `--config FILE` (``ConfigFile``): the expansion itself, then one `rlhf sft` run through the
/// built binary.
@Suite("rlhf --config", .serialized)
struct ConfigFileTests {
    static let commands: CommandInfo = {
        do { return try CommandInfo.describing(RLHFCommand.self) } catch { fatalError("\(error)") }
    }()

    /// A fresh temporary directory for one test (removed by the test).
    static func makeDirectory() throws -> String {
        let directory = NSTemporaryDirectory() + "swift-rlhf-config-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        return directory
    }

    /// Writes `text` to `directory/name` and returns the path.
    static func write(_ text: String, _ name: String, in directory: String) throws -> String {
        let path = directory + "/" + name
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    static func expand(_ arguments: [String]) throws -> [String] {
        try ConfigFile.expand(arguments, commands: commands)
    }

    /// The subcommand that ArgumentParser parses from `arguments` (validation included).
    static func parse<Command>(_ arguments: [String], as _: Command.Type) throws -> Command {
        try #require(try RLHFCommand.parseAsRoot(arguments) as? Command)
    }

    /// The error that expanding `arguments` throws.
    static func failure(_ arguments: [String]) -> ConfigFileError? {
        do {
            _ = try expand(arguments)
            return nil
        } catch {
            return error as? ConfigFileError
        }
    }

    // MARK: - Expansion

    @Test("a JSON and a YAML file with the same settings give the same arguments, in declaration order")
    func jsonAndYAMLAgree() throws {
        let directory = try Self.makeDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let yaml = try Self.write("""
            # TRL-style run settings
            seed: 18446744073709551615
            preset: tiny
            eval_fraction: 0.05
            resume: true
            metrics: null
            sample-length: 0
            """, "run.yaml", in: directory)
        let json = try Self.write("""
            {"seed": 18446744073709551615, "preset": "tiny", "eval_fraction": 0.05, "resume": true,
             "metrics": null, "sample-length": 0}
            """, "run.json", in: directory)
        let expected = ["sft", "--eval-fraction=0.05", "--preset=tiny", "--resume", "--seed=18446744073709551615",
                        "--sample-length=0", "--data", "d.txt"]
        #expect(try Self.expand(["sft", "--config", yaml, "--data", "d.txt"]) == expected)
        #expect(try Self.expand(["sft", "--config=\(json)", "--data", "d.txt"]) == expected)
        // Another extension: JSON when it parses as JSON, else YAML.
        let other = try Self.write(try String(contentsOfFile: yaml, encoding: .utf8), "run.conf", in: directory)
        #expect(try Self.expand(["sft", "--config", other, "--data", "d.txt"]) == expected)
        let command = try Self.parse(expected, as: SFTCommand.self)
        #expect(command.seed == UInt64.max && command.preset == .tiny && command.resume && command.evalFraction == 0.05)
    }

    @Test("numbers arrive as written in YAML; JSON numbers keep their value")
    func numbersRoundTrip() throws {
        let directory = try Self.makeDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let yaml = try Self.write("learning_rate: 1e-5\nwarmup_ratio: 0.05\n", "lr.yaml", in: directory)
        let expanded = try Self.expand(["sft", "--config", yaml, "--data", "d.txt"])
        #expect(expanded == ["sft", "--warmup-ratio=0.05", "--learning-rate=1e-5", "--data", "d.txt"])
        let json = try Self.write(#"{"learning_rate": 1e-5, "seed": 18446744073709551615}"#, "lr.json", in: directory)
        let command = try Self.parse(try Self.expand(["sft", "--config", json, "--data", "d.txt"]), as: SFTCommand.self)
        #expect(command.learningRate == Float("1e-5"))
        #expect(command.seed == 18_446_744_073_709_551_615)
    }

    @Test("snake_case and kebab-case keys name the same option")
    func snakeAndKebabKeys() throws {
        let directory = try Self.makeDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let snake = try Self.write("batch_size: 2\nsequence_length: 32\n", "snake.yaml", in: directory)
        let kebab = try Self.write("batch-size: 2\nsequence-length: 32\n", "kebab.yaml", in: directory)
        let expected = ["sft", "--batch-size=2", "--sequence-length=32"]
        #expect(try Self.expand(["sft", "--config", snake]) == expected)
        #expect(try Self.expand(["sft", "--config", kebab]) == expected)
    }

    @Test("true is the flag, false and null leave it out; YAML 1.1 yes/no are booleans, quoted ones strings")
    func flags() throws {
        let directory = try Self.makeDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let on = try Self.write("chat: true\nsystem: 'yes'\n", "on.yaml", in: directory)
        #expect(try Self.expand(["generate", "--config", on]) == ["generate", "--chat", "--system=yes"])
        let off = try Self.write("chat: false\nsystem: ~\n", "off.yaml", in: directory)
        #expect(try Self.expand(["generate", "--config", off]) == ["generate"])
        let yes = try Self.write("chat: yes\n", "yes.yaml", in: directory)
        #expect(try Self.expand(["generate", "--config", yes]) == ["generate", "--chat"])
        let json = try Self.write(#"{"chat": true, "system": null}"#, "on.json", in: directory)
        #expect(try Self.expand(["generate", "--config", json]) == ["generate", "--chat"])
        let jsonOff = try Self.write(#"{"chat": false}"#, "off.json", in: directory)
        #expect(try Self.expand(["generate", "--config", jsonOff]) == ["generate"])
        #expect(try Self.parse(try Self.expand(["generate", "--config", on, "--model", "m", "--prompt", "p"]), as: GenerateCommand.self).chat)
    }

    @Test("a list repeats a repeatable option, values starting with '-' included")
    func lists() throws {
        let directory = try Self.makeDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let stops = try Self.write("model: m.gguf\nprompt: hi\nstop: [\"\\n\\n\", -END-]\n", "stop.yaml", in: directory)
        let expanded = try Self.expand(["generate", "--config", stops])
        #expect(expanded == ["generate", "--model=m.gguf", "--prompt=hi", "--stop=\n\n", "--stop=-END-"])
        #expect(try Self.parse(expanded, as: GenerateCommand.self).stop == ["\n\n", "-END-"])
        // An `.upToNextOption` array takes one value per `--name=value` too.
        let batches = try Self.write(#"{"sampling_batches": [2, 4]}"#, "bench.json", in: directory)
        #expect(try Self.parse(try Self.expand(["bench", "--config", batches]), as: BenchCommand.self).samplingBatches == [2, 4])
    }

    @Test("ArgumentParser keeps the last value of a repeated single-valued option")
    func lastValueWins() throws {
        #expect(try Self.parse(["sft", "--data", "d.txt", "--steps", "1", "--steps", "2"], as: SFTCommand.self).steps == 2)
    }

    @Test("an option on the command line replaces the file's, for single and repeatable options")
    func commandLineOverrides() throws {
        let directory = try Self.makeDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let file = try Self.write("model: m.gguf\nprompt: hi\ntemperature: 0.5\nstop: [a, b]\nseed: 7\n", "g.yaml", in: directory)
        let expanded = try Self.expand(["generate", "--config", file, "--temperature", "0", "--stop=c"])
        #expect(expanded == ["generate", "--model=m.gguf", "--prompt=hi", "--seed=7", "--temperature", "0", "--stop=c"])
        let command = try Self.parse(expanded, as: GenerateCommand.self)
        #expect(command.temperature == 0 && command.stop == ["c"] && command.seed == 7)
        // Without the command line's --stop, the file's list stands.
        #expect(try Self.parse(try Self.expand(["generate", "--config", file]), as: GenerateCommand.self).stop == ["a", "b"])
        // Options given before --config count too; `--` ends the scan.
        #expect(try Self.expand(["generate", "--prompt", "x", "--config", file])
            == ["generate", "--model=m.gguf", "--temperature=0.5", "--seed=7", "--stop=a", "--stop=b", "--prompt", "x"])
        #expect(try Self.expand(["generate"]) == ["generate"])
        #expect(try Self.expand(["generate", "--", "--config", file]) == ["generate", "--", "--config", file])
    }

    // MARK: - Errors

    @Test("a missing, unreadable or malformed file is one error naming the file (and the position)")
    func badFiles() throws {
        let directory = try Self.makeDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        #expect(Self.failure(["sft", "--config", directory + "/none.yaml"])?.description == "\(directory)/none.yaml: no such config file")
        #expect(Self.failure(["sft", "--config", directory])?.reason.contains("directory") == true)

        let yaml = try Self.write("steps: 3\nbatch_size: [2\nseed: 1\n", "bad.yaml", in: directory)
        let yamlError = try #require(Self.failure(["sft", "--config", yaml]))
        #expect(yamlError.file == yaml && yamlError.line != nil && yamlError.column != nil)
        #expect(yamlError.description.hasPrefix("\(yaml):\(yamlError.line ?? 0):\(yamlError.column ?? 0): not valid YAML: "))
        #expect(!yamlError.description.contains("\n"))

        let json = try Self.write("{\"steps\": 3\n \"seed\": 1}", "bad.json", in: directory)
        let jsonError = try #require(Self.failure(["sft", "--config", json]))
        #expect(jsonError.file == json && jsonError.line == 2 && jsonError.column == 2)
        #expect(jsonError.description.hasPrefix("\(json):2:2: not valid JSON"))

        for (name, text, kind) in [("list.yaml", "- steps\n- 3\n", "a list"), ("list.json", "[1, 2]", "a list"),
                                   ("scalar.yaml", "steps\n", "a scalar"), ("number.json", "3", "a number")] {
            let path = try Self.write(text, name, in: directory)
            let error = try #require(Self.failure(["sft", "--config", path]))
            #expect(error.description.contains("\(path)") && error.reason.hasPrefix("the top level is \(kind)") && error.reason.contains("not a mapping"), "\(error)")
        }
        let empty = try Self.write("# nothing yet\n", "empty.yaml", in: directory)
        #expect(Self.failure(["sft", "--config", empty])?.reason.contains("no settings") == true)
    }

    @Test("a nested mapping, a list of mappings, a list for a single value and a non-boolean flag name the key")
    func badValues() throws {
        let directory = try Self.makeDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let cases: [(String, String)] = [
            ("optimizer:\n  lr: 1e-5\n", "'optimizer' is a mapping"),
            (#"{"reward": [{"model": "rm"}]}"#, "'reward' is a list containing a mapping"),
            ("seed: [1, 2]\n", "'seed' takes one value, not a list"),
            ("resume: 1\n", "'resume' is a flag: give true or false"),
        ]
        for (index, (text, reason)) in cases.enumerated() {
            let path = try Self.write(text, "case\(index).yaml", in: directory)
            let command = text.contains("reward") ? "reward" : "sft"
            let error = try #require(Self.failure([command, "--config", path]))
            #expect(error.file == path && error.reason.contains(reason), "\(error)")
        }
    }

    @Test("an unknown key names the file, the key and the command, with a suggestion")
    func unknownKey() throws {
        let directory = try Self.makeDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = try Self.write("steps: 3\nlearnin_rate: 1e-5\n", "p3o.yaml", in: directory)
        let error = try #require(Self.failure(["sft", "--config", path]))
        #expect(error.description == "\(path):2: unknown setting 'learnin_rate' for 'rlhf sft' (did you mean 'learning_rate'?)")
        let positional = try Self.write(#"{"model": "m.gguf"}"#, "inspect.json", in: directory)
        #expect(Self.failure(["inspect", "--config", positional])?.reason == "'model' is a positional argument of 'rlhf inspect': give it on the command line")
        let duplicate = try Self.write("top_p: 0.9\ntop-p: 0.8\n", "dup.yaml", in: directory)
        #expect(Self.failure(["generate", "--config", duplicate])?.reason == "'top_p' and 'top-p' both set --top-p")
    }

    @Test("--config inside a file, twice, without a file or before the subcommand is an error")
    func misusedConfig() throws {
        let directory = try Self.makeDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let nested = try Self.write("config: other.yaml\n", "nested.yaml", in: directory)
        #expect(Self.failure(["sft", "--config", nested])?.reason.contains("'config' cannot be set in a config file") == true)
        let plain = try Self.write("steps: 3\n", "plain.yaml", in: directory)
        #expect(Self.failure(["sft", "--config", plain, "--config", plain])?.reason == "give --config once")
        #expect(Self.failure(["sft", "--config"])?.reason == "--config needs a file: --config FILE")
        #expect(Self.failure(["sft", "--config="])?.reason == "--config needs a file: --config FILE")
        #expect(Self.failure(["--config", plain, "sft"])?.reason.contains("after the subcommand name") == true)
    }

    // MARK: - Through the binary

    @Test("rlhf sft --config: the file's settings take effect, a command-line flag overrides one")
    func sftFromAConfigFile() throws {
        let directory = try Self.makeDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let data = ReferencePaths.packageRoot + "/Examples/data/aesop-fables.txt"
        let config = try Self.write("""
            data: \(data)
            output: \(directory)/run
            preset: tiny
            batch_size: 2
            sequence_length: 32
            steps: 2
            sample_length: 0
            learning_rate: 1e-3
            """, "sft.yaml", in: directory)
        let fromFile = try CommandLineTests.run(["sft", "--config", config])
        #expect(fromFile.status == 0, "\(fromFile.error)")
        #expect(fromFile.error.contains("2 blocks, hidden 64"))  // preset: tiny
        #expect(fromFile.error.contains("step 2/2"))
        let overridden = try CommandLineTests.run(["sft", "--config", config, "--steps", "1", "--output", directory + "/other"])
        #expect(overridden.status == 0, "\(overridden.error)")
        #expect(overridden.error.contains("step 1/1") && !overridden.error.contains("step 2/2"))
        let state = try String(contentsOfFile: directory + "/other/trainer_state.json", encoding: .utf8)
        #expect(state.contains("\"step\" : 1"))

        let typo = try Self.write("steps: 1\nlearnin_rate: 1e-3\n", "typo.yaml", in: directory)
        let failed = try CommandLineTests.run(["sft", "--config", typo, "--data", data])
        #expect(failed.status != 0)
        #expect(failed.error == "Error: \(typo):2: unknown setting 'learnin_rate' for 'rlhf sft' (did you mean 'learning_rate'?)\n")
    }
}
