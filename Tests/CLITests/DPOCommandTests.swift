import Foundation
import Testing
import _RLHFTestSupport

/// `rlhf dpo` and `rlhf kto` on SmolLM2-135M-Instruct, end to end through the built binary (the
/// release build when `RLHF_CLI` is set), and their option checks.
@Suite("rlhf dpo and kto on SmolLM2", .serialized)
struct DPOCommandTests {
    static let model = ReferencePaths.smolLM2GGUF

    /// 20 topics to train on, 8 others held out.
    static let topics = ["the ocean", "a busy city", "autumn", "a quiet library", "mountain hiking", "a rainy day", "coffee", "trains",
                         "the moon", "gardening", "a birthday party", "winter mornings", "a lost cat", "the desert", "music festivals",
                         "old bridges", "bicycles", "the night sky", "a market", "snow"]
    static let heldOutTopics = ["the forest", "a football match", "chocolate", "sailing", "a thunderstorm", "museums", "pizza", "the beach"]
    static let kind = ["wonderful", "delightful", "lovely", "fantastic"], unkind = ["awful", "dreadful", "terrible", "horrible"]

    /// The rule: the chosen answer speaks well of the topic, the rejected one ill, in the same
    /// sentence frame; chat messages, so the model's ChatML template renders them.
    static func pair(topic: String, phrasing: Int, word: Int) -> [String: Any] {
        let question = phrasing == 0 ? "What do you think of \(topic)?" : "Give me your opinion of \(topic) in one sentence."
        let subject = topic.prefix(1).uppercased() + topic.dropFirst()
        return [
            "prompt": [["role": "user", "content": question]],
            "chosen": [["role": "assistant", "content": "\(subject) is \(kind[word % 4]), and I really enjoy it."]],
            "rejected": [["role": "assistant", "content": "\(subject) is \(unkind[(word + 1) % 4]), and I really dislike it."]],
        ]
    }

    @Test("dpo --trainable-blocks 2 raises the held-out margin (rewards/margins) and the metrics show it")
    func dpoRaisesHeldOutMargin() throws {
        let directory = try AlignmentCommandTests.makeDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var train = [[String: Any]]()
        for (t, topic) in Self.topics.enumerated() {
            for phrasing in 0..<2 { train.append(Self.pair(topic: topic, phrasing: phrasing, word: t + phrasing)) }
        }
        let heldOut = Self.heldOutTopics.enumerated().map { Self.pair(topic: $1, phrasing: $0 % 2, word: $0) }
        #expect(train.count == 40 && heldOut.count == 8)
        let trainPath = directory + "/pairs.jsonl", evalPath = directory + "/held-out.jsonl"
        try AlignmentCommandTests.write(train, to: trainPath)
        try AlignmentCommandTests.write(heldOut, to: evalPath)
        let output = directory + "/dpo", metricsPath = directory + "/dpo-metrics.jsonl"
        let result = try AlignmentCommandTests.run([
            "dpo", "--model", Self.model, "--data", trainPath, "--eval-data", evalPath, "--output", output,
            "--trainable-blocks", "2", "--epochs", "2", "--batch-size", "8", "--learning-rate", "2e-4", "--beta", "0.1",
            "--eval-interval", "5", "--seed", "0", "--metrics", metricsPath,
        ])
        #expect(result.status == 0, "\(result.error)")
        #expect(result.error.contains("frozen trunk (blocks 0..<28)") && result.error.contains("reference scored on it"), "\(result.error)")

        let metrics = try AlignmentCommandTests.readJSONLines(metricsPath)
        let evaluations = metrics.filter { $0["event"] as? String == "evaluation" }
        let steps = metrics.filter { $0["event"] as? String == "step" }
        #expect(steps.count == 10 && evaluations.map { $0["step"] as? Double } == [0, 5, 10])
        #expect(steps.allSatisfy { $0["loss"] is Double && $0["grad_norm"] is Double && $0["rewards/margins"] is Double && $0["learning_rate"] is Double })
        let before = try #require(evaluations.first), after = try #require(evaluations.last)
        for name in ["eval_loss", "rewards/chosen", "rewards/rejected", "rewards/accuracies", "rewards/margins", "logps/chosen", "logps/rejected"] {
            #expect(after[name] is Double, "\(name)")
        }
        let marginBefore = try #require(before["rewards/margins"] as? Double), marginAfter = try #require(after["rewards/margins"] as? Double)
        #expect(abs(marginBefore) < 1e-9 && abs((before["eval_loss"] as? Double ?? 0) - log(2)) < 1e-9, "\(before)")
        #expect(marginAfter > 0.2, "held-out margin \(marginBefore) → \(marginAfter)\n\(result.error)")
        #expect((after["rewards/accuracies"] as? Double ?? 0) >= 0.875, "\(after)")
        #expect((after["eval_loss"] as? Double ?? 1) < log(2) - 0.05, "\(after)")

        for file in ["config.json", "model.safetensors", "tokenizer.json", "chat_template.jinja", "trainer_state.json",
                     "optimizer.safetensors", "parameters.json", "evaluation.json"] {
            #expect(FileManager.default.fileExists(atPath: output + "/" + file), "\(file)")
        }
        let evaluation = try AlignmentCommandTests.readJSON(output + "/evaluation.json")
        #expect(evaluation["rewards/margins"] as? Double == marginAfter && evaluation["count"] as? Int == 8)

        // The same command again refuses to overwrite the run; --resume finds it complete.
        let again = try AlignmentCommandTests.run(["dpo", "--model", Self.model, "--data", trainPath, "--output", output])
        #expect(again.status != 0 && again.error.contains("pass --resume"), "\(again.error)")
    }

    @Test("kto on unpaired SmolLM2 data runs, reports z0 (kl) and saves a model directory")
    func ktoRuns() throws {
        let directory = try AlignmentCommandTests.makeDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var records = [[String: Any]]()
        for (t, topic) in Self.topics.prefix(8).enumerated() {
            let pair = Self.pair(topic: topic, phrasing: t % 2, word: t)
            records.append(["prompt": pair["prompt"] ?? "", "completion": pair["chosen"] ?? "", "label": true])
            records.append(["prompt": pair["prompt"] ?? "", "completion": pair["rejected"] ?? "", "label": false])
        }
        let data = directory + "/unpaired.jsonl", output = directory + "/kto", metricsPath = directory + "/kto-metrics.jsonl"
        try AlignmentCommandTests.write(records + [records[0]], to: data)   // 9 desirable, 8 undesirable: inside [1, 4/3]
        let result = try AlignmentCommandTests.run([
            "kto", "--model", Self.model, "--data", data, "--output", output, "--eval-fraction", "0",
            "--epochs", "1", "--batch-size", "8", "--learning-rate", "2e-4", "--metrics", metricsPath,
        ])
        #expect(result.status == 0, "\(result.error)")
        #expect(!result.error.contains("warning:"), "\(result.error)")
        let steps = try AlignmentCommandTests.readJSONLines(metricsPath).filter { $0["event"] as? String == "step" }
        #expect(steps.count == 3 && steps.allSatisfy { ($0["kl"] as? Double ?? -1) >= 0 && $0["loss"] is Double })
        #expect(FileManager.default.fileExists(atPath: output + "/model.safetensors"))

        // z0 needs another example in the batch.
        let single = try AlignmentCommandTests.run(["kto", "--model", Self.model, "--data", data, "--output", directory + "/kto-2", "--batch-size", "1"])
        #expect(single.status != 0 && single.error.contains("--batch-size must be at least 2 for KTO"), "\(single.error)")
    }

    @Test("a malformed option is one clear error, before anything is loaded")
    func malformedOptions() throws {
        let base = ["--model", Self.model, "--data", "/nonexistent.jsonl", "--output", NSTemporaryDirectory() + "never-dpo"]
        let cases: [([String], String)] = [
            (["dpo", "--loss-type", "robust", "--label-smoothing", "0.5"] + base, "--label-smoothing must be in [0, 0.5) with --loss-type robust"),
            (["dpo", "--loss-type", "sigmoid", "--label-smoothing", "0.7"] + base, "--label-smoothing must be in [0, 0.5] with --loss-type sigmoid"),
            (["dpo", "--loss-type", "hinge", "--label-smoothing", "0.1"] + base, "--label-smoothing applies to --loss-type sigmoid (cDPO) and robust"),
            (["dpo", "--loss-type", "kto"] + base, "Please provide one of 'sigmoid', 'robust', 'ipo' or 'hinge'"),
            (["dpo", "--ipo-length-normalized"] + base, "--ipo-length-normalized needs --loss-type ipo"),
            (["dpo", "--rpo-variant", "cumulative"] + base, "--rpo-variant needs --rpo-alpha"),
            (["dpo", "--rpo-alpha=-1"] + base, "--rpo-alpha must be 0 or more"),
            (["dpo", "--beta", "0"] + base, "--beta must be positive"),
            (["dpo", "--reference", "/nonexistent-model"] + base, "--reference: no such file or directory"),
            (["kto", "--undesirable-weight=-2"] + base, "--desirable-weight and --undesirable-weight must be 0 or more"),
        ]
        for (arguments, message) in cases {
            let result = try AlignmentCommandTests.run(arguments)
            #expect(result.status != 0 && result.error.contains(message), "\(arguments): \(result.error)")
        }
    }
}
