import Foundation
import Testing
import _RLHFTestSupport

#if canImport(Glibc)
import Glibc
#endif

/// `rlhf p3o`, `ppo`, `rloo`, `grpo`, `online-dpo` and `best-of-n` on SmolLM2-135M-Instruct with the
/// top 2 blocks trainable, through the built binary: each raises a programmatic reward within a
/// few steps; P3O is exactly invariant to a per-prompt reward shift end to end (PPO is not); a
/// run killed with SIGKILL and resumed ends bit-identical to an uninterrupted one.
@Suite("rlhf online trainers on SmolLM2", .serialized)
struct OnlineCommandTests {
    static let model = ReferencePaths.smolLM2GGUF
    static let subjects = ["cats", "the sea", "autumn", "a train", "coffee", "mountains", "rain", "a city", "music", "books",
                           "winter", "the moon", "bread", "a river", "friendship", "snow"]

    static func makeDirectory() throws -> String {
        let directory = NSTemporaryDirectory() + "swift-rlhf-online-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try AlignmentCommandTests.write(
            subjects.enumerated().map { ["prompt": "Write one sentence about \($1).", "shift": Double($0 % 5) * 4 - 8] },
            to: directory + "/prompts.jsonl")
        return directory
    }

    /// The `objective/scores` of each step of a metrics file.
    static func scores(_ path: String) throws -> [Double] {
        try AlignmentCommandTests.readJSONLines(path).filter { $0["event"] as? String == "step" }.map { try #require($0["objective/scores"] as? Double) }
    }

    static func common(_ directory: String, _ name: String, steps: Int) -> [String] {
        ["--model", model, "--prompts", directory + "/prompts.jsonl", "--output", directory + "/" + name, "--steps", String(steps),
         "--metrics", directory + "/\(name).jsonl", "--max-new-tokens", "24", "--seed", "1"]
    }

    /// 1 when the answer starts with "The", else 0: about a quarter of SmolLM2's one-sentence
    /// answers do at temperature 1, so most steps see pairs that differ, and the first token decides.
    static let startsWithThe = ["--reward", #"rule:regex:pattern=^\s*The\b"#]

    @Test("P3O (V1 and V2), PPO, RLOO, GRPO and online DPO each raise the mean reward, with KL reported", arguments: [
        ["p3o", "--pairs-per-step", "8", "--minibatch-size", "4", "--epochs", "4", "--gold", "rule:keyword:word=the"],
        ["p3o", "--variant", "separate", "--pairs-per-step", "8", "--minibatch-size", "4", "--epochs", "4"],
        ["ppo", "--prompts-per-step", "16", "--minibatch-size", "8", "--epochs", "4"],
        ["rloo", "--prompts-per-step", "8", "--minibatch-size", "4", "--epochs", "4"],
        ["grpo", "--num-generations", "4", "--prompts-per-step", "4", "--minibatch-size", "2", "--epochs", "2", "--beta", "0.04"],
        ["online-dpo", "--prompts-per-step", "8", "--minibatch-size", "4", "--epochs", "2"],
    ])
    func trainerRaisesReward(_ arguments: [String]) throws {
        let directory = try Self.makeDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let name = arguments.joined(separator: "-")
        let result = try AlignmentCommandTests.run(arguments + Self.common(directory, name, steps: 8) + Self.startsWithThe
                                                   + ["--learning-rate", "2e-4", "--max-new-tokens", "8"])
        #expect(result.status == 0, "\(result.error)")
        let scores = try Self.scores(directory + "/\(name).jsonl")
        #expect(scores.count == 8)
        let early = (scores[0] + scores[1]) / 2, late = (scores[6] + scores[7]) / 2
        #expect(late > early + 0.2, "\(arguments[0]) scores by step: \(scores)")
        let last = try #require(AlignmentCommandTests.readJSONLines(directory + "/\(name).jsonl").last { $0["event"] as? String == "step" })
        print("\(name): objective/scores by step \(scores.map { String(format: "%.3f", $0) }.joined(separator: " ")); "
              + "objective/kl at the end \(String(format: "%.2f", last["objective/kl"] as? Double ?? .nan)); "
              + "\(String(format: "%.1f", (last["time/step"] as? Double) ?? .nan)) s/step")
        for metric in ["objective/kl", "objective/scores", "completions/mean_length", "sampling/sampling_logp_difference", "time/sampling"] {
            #expect(last[metric] as? Double != nil, "\(metric) missing")
        }
        #expect(try #require(last["sampling/sampling_logp_difference"] as? Double) < 1e-3)
        #expect(FileManager.default.fileExists(atPath: directory + "/\(name)/model.safetensors"))
        if arguments.contains("--gold") {
            // The gold reward is watched beside the proxy, and the policy at its peak is kept.
            #expect(last["objective/gold_scores"] as? Double != nil && last["overoptimization/gold_alarm"] as? Double != nil)
            let peak = try AlignmentCommandTests.readJSON(directory + "/\(name)-gold-peak/gold_peak.json")
            #expect((peak["step"] as? Int).map { (1...8).contains($0) } == true)
            #expect(FileManager.default.fileExists(atPath: directory + "/\(name)-gold-peak/model.safetensors"))
            #expect(result.error.contains("gold peak"))
        }
    }

    /// A reward command: −|characters − 40| / 8 (multiples of 1/8), plus the prompt's `shift` field
    /// (a multiple of 4) when `--shift` is given: every sum is exact in binary floating point.
    static func writeShiftReward(in directory: String) throws -> String {
        let path = directory + "/shift_reward.py"
        try """
            import json, sys
            shift = "--shift" in sys.argv
            for line in sys.stdin:
                request = json.loads(line)
                reward = -abs(len(request["response"]) - 40) / 8
                if shift:
                    reward += request["shift"]
                print(json.dumps({"reward": reward}), flush=True)
            """.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test("a per-prompt reward shift leaves P3O's final weights bit-identical end to end; PPO's change")
    func shiftInvarianceEndToEnd() throws {
        let directory = try Self.makeDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let script = try Self.writeShiftReward(in: directory)
        func train(_ algorithm: [String], _ name: String, shift: Bool) throws -> Data {
            let reward = ["--reward", "command:python3 \(script)" + (shift ? " --shift" : "")]
            let result = try AlignmentCommandTests.run(algorithm + Self.common(directory, name, steps: 3) + reward
                                                       + ["--max-new-tokens", "8", "--learning-rate", "1e-4", "--epochs", "2"])
            #expect(result.status == 0, "\(result.error)")
            return try Data(contentsOf: URL(fileURLWithPath: directory + "/\(name)/model.safetensors"))
        }
        let p3o = ["p3o", "--pairs-per-step", "4", "--minibatch-size", "2"]
        let plain = try train(p3o, "p3o-plain", shift: false), shifted = try train(p3o, "p3o-shifted", shift: true)
        #expect(plain == shifted, "P3O's weights changed under a per-prompt reward shift")
        let scoresPlain = try Self.scores(directory + "/p3o-plain.jsonl"), scoresShifted = try Self.scores(directory + "/p3o-shifted.jsonl")
        #expect(scoresPlain != scoresShifted)  // the shift really reached the rewards
        let clipped = try AlignmentCommandTests.readJSONLines(directory + "/p3o-plain.jsonl").contains { ($0["policy/clipfrac_avg"] as? Double ?? 0) > 0 }
        #expect(clipped, "no clipping happened: the invariance would hold trivially")
        let ppo = ["ppo", "--prompts-per-step", "8", "--minibatch-size", "4"]
        #expect(try train(ppo, "ppo-plain", shift: false) != train(ppo, "ppo-shifted", shift: true))
    }

    @Test("a P3O run killed with SIGKILL mid-way and resumed ends bit-identical to an uninterrupted run")
    func killAndResume() throws {
        let directory = try Self.makeDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        func arguments(_ name: String) -> [String] {
            ["p3o", "--pairs-per-step", "4", "--minibatch-size", "2", "--epochs", "2", "--checkpoint-interval", "1",
             "--learning-rate", "1e-4"] + Self.common(directory, name, steps: 4) + Self.startsWithThe + ["--max-new-tokens", "8"]
        }
        let whole = try AlignmentCommandTests.run(arguments("whole"))
        #expect(whole.status == 0, "\(whole.error)")

        let process = Process()
        process.executableURL = CommandLineTests.executable
        process.arguments = arguments("killed")
        process.standardError = FileHandle.nullDevice
        try process.run()
        let metrics = directory + "/killed.jsonl"
        let deadline = Date().addingTimeInterval(300)
        func checkpoints() -> Int {
            (try? AlignmentCommandTests.readJSONLines(metrics).filter { $0["event"] as? String == "checkpoint" }.count) ?? 0
        }
        while checkpoints() < 2 && Date() < deadline && process.isRunning { usleep(50_000) }
        #expect(process.isRunning, "the run ended before it could be killed")
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        #expect(process.terminationReason == .uncaughtSignal)

        let resumed = try AlignmentCommandTests.run(arguments("killed") + ["--resume"])
        #expect(resumed.status == 0, "\(resumed.error)")
        #expect(resumed.error.contains("resuming"))
        for file in ["model.safetensors", "optimizer.safetensors"] {
            let a = try Data(contentsOf: URL(fileURLWithPath: directory + "/whole/" + file))
            let b = try Data(contentsOf: URL(fileURLWithPath: directory + "/killed/" + file))
            #expect(a == b, "\(file) differs after kill and resume")
        }
        // Without --resume an existing checkpoint is refused, not overwritten.
        let refused = try AlignmentCommandTests.run(arguments("killed"))
        #expect(refused.status != 0 && refused.error.contains("--resume"))
    }

    @Test("best-of-n keeps the highest-scored of n samples and prints its KL bound")
    func bestOfN() throws {
        let directory = try Self.makeDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let output = directory + "/best.jsonl"
        let result = try AlignmentCommandTests.run(["best-of-n", "--model", Self.model, "--prompts", directory + "/prompts.jsonl",
                                                    "-n", "4", "--max-new-tokens", "16", "--output", output] + Self.startsWithThe)
        #expect(result.status == 0, "\(result.error)")
        let lines = try AlignmentCommandTests.readJSONLines(output)
        #expect(lines.count == Self.subjects.count)
        for line in lines {
            let all = try #require(line["rank_rewards"] as? [Double]), best = try #require(line["reward"] as? Double)
            #expect(all.count == 4 && best == all.max())
        }
        #expect(result.error.contains("KL(best-of-4 ‖ policy) ≤ 0.6363"))  // log 4 − 3/4
    }

    @Test("bad options of the online trainers stop with one clear message before any model is loaded")
    func badOptions() throws {
        let directory = try Self.makeDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let base = ["--model", Self.model, "--prompts", directory + "/prompts.jsonl", "--output", directory + "/out"] + Self.startsWithThe
        let cases: [([String], String)] = [
            (["p3o", "--variant", "both"] + base, "--variant must be joint or separate"),
            (["p3o", "--pairs-per-step", "4", "--minibatch-size", "8"] + base, "--minibatch-size (8) exceeds --pairs-per-step (4)"),
            (["p3o", "--weight-clip", "0.5"] + base, "--weight-clip must be at least 1"),
            (["grpo", "--num-generations", "1"] + base, "--num-generations must be at least 2"),
            (["ppo", "--kl-target", "6", "--kl-horizon", "4"] + base, "--kl-horizon (4.0) must be at least"),
            (["rloo", "--model", Self.model, "--prompts", directory + "/missing.jsonl", "--output", directory + "/out"] + Self.startsWithThe,
             "no such file or directory"),
            (["online-dpo", "--model", Self.model, "--output", directory + "/out"] + Self.startsWithThe, "give exactly one of --prompts and --data"),
            (["p3o", "--resume"] + base, "no checkpoint in"),
        ]
        for (arguments, message) in cases {
            let result = try AlignmentCommandTests.run(arguments)
            #expect(result.status != 0 && result.error.contains(message), "\(arguments[0]): \(result.error)")
        }
    }
}
