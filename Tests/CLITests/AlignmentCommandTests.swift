import Foundation
import Testing
import _RLHFTestSupport

/// `rlhf generate --prompts`, `reward`, `evaluate` and `sft --model` on SmolLM2-135M-Instruct,
/// end to end through the built binary (the release build when `RLHF_CLI` is set, as
/// scripts/test.sh does).
@Suite("rlhf alignment commands on SmolLM2", .serialized)
struct AlignmentCommandTests {
    static let model = ReferencePaths.smolLM2GGUF
    /// A fresh temporary directory for one test (removed by the test).
    static func makeDirectory() throws -> String {
        let directory = NSTemporaryDirectory() + "swift-rlhf-alignment-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        return directory
    }

    static func run(_ arguments: [String]) throws -> (status: Int32, output: String, error: String) {
        try CommandLineTests.run(arguments)
    }

    static func write(_ lines: [[String: Any]], to path: String) throws {
        let text = try lines.map { String(decoding: try JSONSerialization.data(withJSONObject: $0, options: [.sortedKeys]), as: UTF8.self) }
            .joined(separator: "\n") + "\n"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
    }

    static func readJSONLines(_ path: String) throws -> [[String: Any]] {
        try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
    }

    static func readJSON(_ path: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any])
    }

    /// Whether `text` contains `word` as a whole word, in any case.
    static func mentions(_ text: String, _ word: String) -> Bool {
        text.lowercased().range(of: "\\b\(word)\\b", options: .regularExpression) != nil
    }

    static let topics = ["the ocean", "a busy city", "autumn leaves", "a quiet library", "mountain hiking", "a rainy day", "coffee",
                         "trains", "the moon", "gardening", "a birthday party", "winter mornings", "a lost cat", "the desert",
                         "music festivals", "old bridges", "bicycles", "the night sky", "a market", "snow"]

    @Test("generate --prompts samples k responses per prompt and keeps the record's fields")
    func generateFromPromptFile() throws {
        let directory = try Self.makeDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let prompts = directory + "/few-prompts.jsonl", output = directory + "/few-samples.jsonl"
        try Self.write([["prompt": "Name a colour.", "id": 7], ["prompt": [["role": "user", "content": "Say hi."]], "id": 8]], to: prompts)
        let result = try Self.run(["generate", "--model", Self.model, "--prompts", prompts, "--chat", "--samples", "2",
                                   "--max-tokens", "12", "--temperature", "1", "--output", output])
        #expect(result.status == 0, "\(result.error)")
        let lines = try Self.readJSONLines(output)
        #expect(lines.count == 4)
        #expect(lines.map { $0["id"] as? Int } == [7, 7, 8, 8] && lines.map { $0["sample"] as? Int } == [0, 1, 0, 1])
        #expect(lines.allSatisfy { ($0["completion"] as? String) != nil && ($0["finish_reason"] as? String) != nil })
    }

    /// Yes/no questions: SmolLM2 answers "no" in about 40% of samples at temperature 1.
    static let subjects = ["the ocean", "a busy city", "autumn", "a quiet library", "mountain hiking", "a rainy day", "coffee", "a train",
                           "the moon", "gardening", "a birthday party", "winter", "a lost cat", "the desert", "a music festival",
                           "an old bridge", "a bicycle", "the night sky", "a market", "snow"]

    @Test("reward learns a keyword rule on SmolLM2 samples (held-out accuracy ≥ 0.9); evaluate; a 3-member ensemble")
    func rewardModelFromRuleLabels() throws {
        let directory = try Self.makeDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // 1. Responses sampled from SmolLM2: 40 questions, 8 each.
        var records = [[String: Any]]()
        for (index, subject) in Self.subjects.enumerated() {
            for adjective in ["dangerous", "boring"] {
                records.append(["prompt": "Is \(subject) \(adjective)? Answer yes or no, then give one reason.", "subject": index])
            }
        }
        let prompts = directory + "/prompts.jsonl", samples = directory + "/samples.jsonl"
        try Self.write(records, to: prompts)
        let generated = try Self.run(["generate", "--model", Self.model, "--prompts", prompts, "--chat", "--samples", "8",
                                      "--max-tokens", "32", "--temperature", "1", "--top-p", "1", "--seed", "3", "--output", samples])
        #expect(generated.status == 0, "\(generated.error)")
        let responses = try Self.readJSONLines(samples)
        #expect(responses.count == 320)

        // 2. The rule: prefer the response that mentions "no". Pairs within a question; the
        //    questions about the last 4 subjects are held out, so no held-out response or
        //    subject was seen in training.
        var train = [[String: Any]](), heldOut = [[String: Any]]()
        // Grouped by the question text (a dictionary's description is not a stable key).
        let byPrompt = Dictionary(grouping: responses.indices) {
            ((responses[$0]["prompt"] as? [[String: Any]])?.first?["content"] as? String) ?? ""
        }
        for (_, indices) in byPrompt.sorted(by: { $0.key < $1.key }) {
            let subject = responses[indices[0]]["subject"] as? Int ?? 0
            let yes = indices.filter { Self.mentions(responses[$0]["completion"] as? String ?? "", "no") }
            let no = indices.filter { !yes.contains($0) }
            for a in yes {
                for b in no {
                    let pair: [String: Any] = [
                        "prompt": responses[a]["prompt"] ?? "",
                        "chosen": [["role": "assistant", "content": responses[a]["completion"] ?? ""]],
                        "rejected": [["role": "assistant", "content": responses[b]["completion"] ?? ""]],
                    ]
                    if subject >= 16 { heldOut.append(pair) } else { train.append(pair) }
                }
            }
        }
        #expect(byPrompt.count == 40)
        #expect(train.count >= 200 && heldOut.count >= 40, "\(train.count) training / \(heldOut.count) held-out pairs")
        let trainPath = directory + "/pairs-train.jsonl", evalPath = directory + "/pairs-eval.jsonl"
        try Self.write(train, to: trainPath)
        try Self.write(heldOut, to: evalPath)

        // 3. A reward model on the top 2 blocks.
        let rewardDirectory = directory + "/rm"
        let trained = try Self.run(["reward", "--model", Self.model, "--data", trainPath, "--eval-data", evalPath, "--output", rewardDirectory,
                                    "--epochs", "3", "--batch-size", "16", "--learning-rate", "3e-4", "--seed", "0",
                                    "--metrics", directory + "/rm-metrics.jsonl"])
        #expect(trained.status == 0, "\(trained.error)")
        let evaluation = try Self.readJSON(rewardDirectory + "/evaluation.json")
        let accuracy = try #require(evaluation["accuracy"] as? Double)
        #expect(accuracy >= 0.9, "held-out accuracy \(accuracy)\n\(trained.error)")
        for key in ["expected_calibration_error", "brier_score", "margin", "loss"] { #expect(evaluation[key] is Double, "\(key)") }
        let config = try Self.readJSON(rewardDirectory + "/config.json")
        #expect(config["architectures"] as? [String] == ["LlamaForSequenceClassification"] && config["num_labels"] as? Int == 1)
        #expect(config["pad_token_id"] as? Int == 0)
        let metrics = try Self.readJSONLines(directory + "/rm-metrics.jsonl")
        #expect(metrics.contains { $0["event"] as? String == "step" && $0["grad_norm"] is Double && $0["accuracy"] is Double })

        // 4. Its score from the command line follows the rule; a policy measured against itself.
        func score(_ answer: String) throws -> Double {
            let text = "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n"
                + "<|im_start|>user\nIs the sea cold? Answer yes or no, then give one reason.<|im_end|>\n<|im_start|>assistant\n"
                + answer + "<|im_end|>"
            let scored = try Self.run(["logprobs", "--model", rewardDirectory, "--text", text, "--top", "1"])
            #expect(scored.status == 0, "\(scored.error)")
            return try #require((try JSONSerialization.jsonObject(with: Data(scored.output.utf8)) as? [String: Any])?["score"] as? Double)
        }
        #expect(try score("No, it is often warm.") > score("Yes, it is often cold."))
        let few = directory + "/eval-prompts.jsonl"
        try Self.write(records.suffix(8).map { ["prompt": $0["prompt"] ?? ""] }, to: few)
        let report = directory + "/evaluate.json"
        let evaluated = try Self.run(["evaluate", "--model", Self.model, "--prompts", few, "--chat", "--reward", "model:" + rewardDirectory,
                                      "--reference", Self.model, "--versus", Self.model, "--samples", "4", "--max-new-tokens", "24",
                                      "--json", report])
        #expect(evaluated.status == 0, "\(evaluated.error)")
        let measured = try Self.readJSON(report)
        #expect(measured["kl_k1"] as? Double == 0 && measured["kl_k3"] as? Double == 0)
        let winRate = try #require(measured["win_rate"] as? Double)
        #expect(abs(winRate - 0.5) <= 0.25, "win rate against itself \(winRate)")
        #expect(measured["samples"] as? Int == 32)

        // 5. Three members that differ in seed, on the frozen trunk computed once (a subset of the pairs).
        let smallTrain = directory + "/pairs-train-small.jsonl", smallEval = directory + "/pairs-eval-small.jsonl"
        try Self.write(Array(train.prefix(64)), to: smallTrain)
        try Self.write(Array(heldOut.prefix(24)), to: smallEval)
        let ensembleDirectory = directory + "/ensemble"
        let ensemble = try Self.run(["reward", "--model", Self.model, "--data", smallTrain, "--eval-data", smallEval, "--output", ensembleDirectory,
                                     "--members", "3", "--epochs", "1", "--batch-size", "16", "--learning-rate", "3e-4", "--combiner", "uwo"])
        #expect(ensemble.status == 0, "\(ensemble.error)")
        let manifest = try Self.readJSON(ensembleDirectory + "/ensemble.json")
        #expect(manifest["members"] as? [String] == ["member-0", "member-1", "member-2"])
        #expect(manifest["seeds"] as? [Int] == [0, 1, 2] && manifest["combiner"] as? String == "uwo" && manifest["shared_blocks"] as? Int == 28)
        let summary = try Self.readJSON(ensembleDirectory + "/evaluation.json")
        for name in ["mean", "wco", "uwo"] { #expect((summary[name] as? [String: Any])?["accuracy"] is Double, "\(name)") }
        let withEnsemble = try Self.run(["evaluate", "--model", Self.model, "--prompts", few, "--chat", "--reward", "ensemble:" + ensembleDirectory + ":wco",
                                         "--max-new-tokens", "16"])
        #expect(withEnsemble.status == 0, "\(withEnsemble.error)")
        #expect(withEnsemble.output.contains("ensemble(3, wco)"), "\(withEnsemble.output)")
    }

    @Test("sft --model: completion-only loss on a chat file goes down on held-out records; the directory reloads")
    func sftOnAChatFile() throws {
        let directory = try Self.makeDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var records = [[String: Any]]()
        for (t, topic) in Self.topics.enumerated() {
            let answer = "Here is a fact about \(topic): it is number \(t + 1) on my list, and I like it."
            records.append(["messages": [["role": "user", "content": "Tell me about \(topic)."], ["role": "assistant", "content": answer]]])
        }
        let data = directory + "/chat.jsonl", output = directory + "/sft", metrics = directory + "/sft-metrics.jsonl"
        try Self.write(records, to: data)
        let result = try Self.run(["sft", "--model", Self.model, "--data", data, "--output", output, "--trainable-blocks", "2",
                                   "--epochs", "3", "--batch-size", "4", "--learning-rate", "3e-4", "--eval-fraction", "0.2",
                                   "--metrics", metrics])
        #expect(result.status == 0, "\(result.error)")
        let losses = try Self.readJSONLines(metrics).filter { $0["event"] as? String == "evaluation" }.compactMap { $0["eval_loss"] as? Double }
        #expect(losses.count >= 2)
        if let first = losses.first, let last = losses.last { #expect(last < first, "held-out completion loss \(losses)") }
        for file in ["config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "chat_template.jinja", "trainer_state.json"] {
            #expect(FileManager.default.fileExists(atPath: output + "/" + file), "\(file)")
        }
        let reloaded = try Self.run(["generate", "--model", output, "--prompt", "Tell me about snow.", "--chat", "--temperature", "0", "--max-tokens", "20"])
        #expect(reloaded.status == 0, "\(reloaded.error)")
        #expect(reloaded.output.contains("snow"), "\(reloaded.output)")
    }

    @Test("a malformed data line is an error naming the file and line")
    func malformedData() throws {
        let directory = try Self.makeDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let data = directory + "/bad.jsonl"
        try "{\"prompt\": \"a\", \"chosen\": \"b\", \"rejected\": \"c\"}\n{\"prompt\": \"a\", \"chosen\": \"b\"}\n".write(toFile: data, atomically: true, encoding: .utf8)
        let result = try Self.run(["reward", "--model", Self.model, "--data", data, "--output", directory + "/never"])
        #expect(result.status != 0)
        #expect(result.error.contains("bad.jsonl:2:") && result.error.contains("rejected"), "\(result.error)")
        #expect(!FileManager.default.fileExists(atPath: directory + "/never"))
    }

    @Test("an external command scores responses; a crashing one is a clear error")
    func commandReward() throws {
        let directory = try Self.makeDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let prompts = directory + "/cmd-prompts.jsonl"
        try Self.write([["prompt": "Name a fruit."], ["prompt": "Name a tree."]], to: prompts)
        let script = ReferencePaths.packageRoot + "/Tests/Fixtures/reward-scripts/"
        let good = try Self.run(["evaluate", "--model", Self.model, "--prompts", prompts, "--chat", "--max-new-tokens", "8",
                                 "--reward", "command:python3 " + script + "length_reward.py"])
        #expect(good.status == 0, "\(good.error)")
        let bad = try Self.run(["evaluate", "--model", Self.model, "--prompts", prompts, "--chat", "--max-new-tokens", "8",
                                "--reward", "command:python3 " + script + "crash.py"])
        #expect(bad.status != 0 && bad.error.contains("response 1 of 2"), "\(bad.error)")
    }
}
