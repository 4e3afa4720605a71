import Foundation
import Testing
import _RLHFTestSupport

/// Runs the built `rlhf` executable end to end (it sits next to the test bundle in the build folder).
@Suite("rlhf command line", .serialized)
struct CommandLineTests {
    static var executable: URL {
        // `RLHF_CLI` (scripts/test.sh sets it to the release build), else the binary built next to
        // the test bundle: .build/<configuration>/swift-rlhfPackageTests.xctest → .build/<configuration>/rlhf
        if let path = ProcessInfo.processInfo.environment["RLHF_CLI"], !path.isEmpty { return URL(fileURLWithPath: path) }
        var url = URL(fileURLWithPath: CommandLine.arguments[0])
        while url.pathComponents.count > 1, !FileManager.default.fileExists(atPath: url.appendingPathComponent("rlhf").path) {
            url.deleteLastPathComponent()
        }
        return url.appendingPathComponent("rlhf")
    }

    static func run(_ arguments: [String]) throws -> (status: Int32, output: String, error: String) {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        let output = Pipe(), error = Pipe()
        process.standardOutput = output
        process.standardError = error
        try process.run()
        let outputData = output.fileHandleForReading.readDataToEndOfFile()
        let errorData = error.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: outputData, as: UTF8.self), String(decoding: errorData, as: UTF8.self))
    }

    @Test func sftTrainsCheckpointsAndResumes() throws {
        let directory = NSTemporaryDirectory() + "swift-rlhf-cli-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let data = ReferencePaths.packageRoot + "/Examples/data/aesop-fables.txt"
        let common = ["sft", "--data", data, "--output", directory + "/run", "--preset", "tiny", "--batch-size", "2",
                      "--sequence-length", "32", "--eval-interval", "2", "--sample-length", "8",
                      "--metrics", directory + "/metrics.jsonl"]
        let first = try Self.run(common + ["--steps", "3"])
        #expect(first.status == 0, "\(first.error)")
        #expect(first.error.contains("step 3/3"))
        #expect(first.output.contains("continued:"))
        let state = try String(contentsOfFile: directory + "/run/trainer_state.json", encoding: .utf8)
        #expect(state.contains("\"step\" : 3"))
        for file in ["config.json", "model.safetensors", "optimizer.safetensors"] {
            #expect(FileManager.default.fileExists(atPath: directory + "/run/" + file), "\(file)")
        }
        let resumed = try Self.run(common + ["--steps", "5", "--resume"])
        #expect(resumed.status == 0, "\(resumed.error)")
        #expect(resumed.error.contains("resuming"))
        #expect(resumed.error.contains("step 5/5"))
        let metrics = try String(contentsOfFile: directory + "/metrics.jsonl", encoding: .utf8)
            .split(separator: "\n").filter { $0.contains("\"event\":\"step\"") }
        #expect(metrics.count == 5)
        for line in metrics {
            #expect(try JSONSerialization.jsonObject(with: Data(line.utf8)) is [String: Any])
        }
    }

    @Test func badInputFailsWithAMessage() throws {
        let missing = try Self.run(["sft", "--data", "/nonexistent/corpus.txt", "--steps", "1"])
        #expect(missing.status != 0)
        #expect(missing.error.contains("cannot read /nonexistent/corpus.txt"))
        let badSteps = try Self.run(["sft", "--data", "x.txt", "--steps", "0"])
        #expect(badSteps.status != 0)
        #expect(badSteps.error.contains("--steps"))
        let noCheckpoint = try Self.run(["sft", "--data", ReferencePaths.packageRoot + "/Examples/data/aesop-fables.txt",
                                         "--resume", "--output", "/nonexistent/run"])
        #expect(noCheckpoint.status != 0)
        #expect(noCheckpoint.error.contains("no checkpoint"))
    }

    @Test func helpListsTheSubcommands() throws {
        let help = try Self.run(["--help"])
        #expect(help.status == 0)
        for command in ["sft", "generate", "logprobs", "inspect", "bench"] { #expect(help.output.contains(command)) }
    }

    @Test("bench: the CPU header and roofs, figures with their roof share, --json with the machine; a bad --shape is named")
    func benchReport() throws {
        let directory = NSTemporaryDirectory() + "swift-rlhf-bench-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let result = try Self.run(["bench", "--shape", "tiny", "--model-only", "--repeats", "1", "--batch-size", "2",
                                   "--sequence-length", "16", "--json", directory + "/bench.json"])
        #expect(result.status == 0, "\(result.error)")
        #expect(result.output.contains("CPU: ") && result.output.contains("kernels: ") && result.output.contains("roofs: "))
        #expect(result.output.contains("train step (fwd+bwd+AdamW)") && result.output.contains("peak resident memory"))
        let report = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: directory + "/bench.json"))) as? [String: Any]
        let machine = report?["machine"] as? [String: Any], cpu = machine?["cpu"] as? [String: Any]
        #expect((cpu?["logical_processor_count"] as? Int ?? 0) >= 1)
        #expect(["avx512", "avx2", "portable"].contains(machine?["kernels"] as? String ?? ""))
        let records = report?["records"] as? [[String: Any]] ?? []
        let training = records.first { ($0["work"] as? String)?.hasPrefix("train step") == true }
        #expect((training?["tokens_per_second"] as? Double ?? 0) > 0 && (training?["gigaflops"] as? Double ?? 0) > 0)
        #expect(records.contains { $0["section"] as? String == "memory" })

        let bad = try Self.run(["bench", "--shape", "huge"])
        #expect(bad.status != 0 && bad.error.contains("unknown --shape huge"))
    }

    @Test func inspectDescribesSmolLM2() throws {
        let result = try Self.run(["inspect", ReferencePaths.smolLM2GGUF])
        #expect(result.status == 0, "\(result.error)")
        #expect(result.output.contains("30 blocks, hidden 576"))
        #expect(result.output.contains("Q4_1 ×210"))
        #expect(result.output.contains("pre-tokenizer gpt2,"))  // SmolLM2's own tokenizer.json, not llama.cpp's digit split
        #expect(result.output.contains("ChatML"))
    }

    @Test func greedyChatGenerationAnswers() throws {
        let result = try Self.run([
            "generate", "--model", ReferencePaths.smolLM2GGUF, "--prompt", "What is 2+2?", "--chat", "--temperature", "0",
            "--max-tokens", "24",
        ])
        #expect(result.status == 0, "\(result.error)")
        // The reference greedy continuation (smollm2-135m-instruct.json).
        #expect(result.output.contains("The answer to this classic math problem is 4."))
        #expect(result.error.contains("finished: stopToken"))
    }

    @Test func logProbsJSONMatchesTheReference() throws {
        let result = try Self.run(["logprobs", "--model", ReferencePaths.smolLM2GGUF, "--text", "The capital of France is", "--json"])
        #expect(result.status == 0, "\(result.error)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any])
        let tokens = try #require(json["tokens"] as? [[String: Any]])
        #expect(tokens.map { $0["id"] as? Int } == [504, 3575, 282, 4649, 314])
        #expect(tokens[0]["logprob"] is NSNull)
        // The reference's most likely next tokens: ',' after "The", ' Paris' after "is".
        #expect((tokens[0]["top"] as? [[String: Any]])?.first?["id"] as? Int == 29)
        #expect((tokens[4]["top"] as? [[String: Any]])?.first?["id"] as? Int == 7042)
        let referenceData = try Data(contentsOf: URL(fileURLWithPath: ReferencePaths.reference + "/smollm2-135m-instruct.json"))
        let reference = try #require(try JSONSerialization.jsonObject(with: referenceData) as? [String: Any])
        let cases = try #require(reference["logits"] as? [[String: Any]])
        let expected = try #require(cases.first?["next_token_logprobs"] as? [Double])
        for (t, value) in expected.enumerated() {
            let logProb = try #require(tokens[t + 1]["logprob"] as? Double)
            #expect(abs(logProb - value) < 0.01)
        }
    }

    @Test func missingModelIsAClearError() throws {
        let result = try Self.run(["generate", "--model", "/nonexistent/model.gguf", "--prompt", "hi"])
        #expect(result.status != 0)
        #expect(result.error.contains("no such file or directory: /nonexistent/model.gguf"))
    }
}
