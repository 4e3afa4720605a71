import Foundation
import Testing
import _RLHFTestSupport

/// `rlhf experiment CONFIG` through the built binary on a seconds-long YAML configuration: the
/// table in the terminal, results.json and a self-contained report.html; bad files get one clear
/// error. (`rlhf demo` is the same harness with ExperimentConfiguration.demo; its full run is
/// the README's first command, timed there, not in CI.)
@Suite("rlhf experiment")
struct ExperimentCommandTests {
    static let tiny = """
        rl_seeds: 2
        policy: {hidden_size: 32, intermediate_size: 64, blocks: 1, heads: 2, key_value_heads: 1, sft_examples: 300, sft_epochs: 1}
        preferences: {comparisons: 80}
        proxy: {members: 3, normalization_samples: 32, training: {epochs: 5}}
        reinforcement: {steps: 3, responses_per_step: 8, responses_per_update: 4, maximum_new_tokens: 24, final_window: 2}
        best_of_n: {prompts: 2, samples_per_prompt: 8, maximum_n: 4}
        runs:
          - algorithms: [p3o-v2, ppo]
            proxies: [single, wco]
            betas: [0.1]
        """

    @Test("a tiny experiment writes the table, results.json and report.html")
    func tinyExperiment() throws {
        let directory = try AlignmentCommandTests.makeDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try Self.tiny.write(toFile: directory + "/tiny.yaml", atomically: true, encoding: .utf8)
        let result = try CommandLineTests.run(["experiment", directory + "/tiny.yaml", "--output", directory + "/out"])
        #expect(result.status == 0, "\(result.error)")
        for label in ["p3o-v2 / single / β=0.1", "p3o-v2 / wco / β=0.1", "ppo / single / β=0.1", "ppo / wco / β=0.1"] {
            #expect(result.output.contains(label), "the table lacks \(label)")
        }
        #expect(result.output.contains("best-of-n on single"))
        let results = try AlignmentCommandTests.readJSON(directory + "/out/results.json")
        #expect((results["runs"] as? [Any])?.count == 8)
        #expect((results["table"] as? [Any])?.count == 4)
        let html = try String(contentsOfFile: directory + "/out/report.html", encoding: .utf8)
        #expect(html.hasPrefix("<!DOCTYPE html>") && html.contains("<svg") && !html.contains("<script") && !html.contains("https://"))
        let configuration = try AlignmentCommandTests.readJSON(directory + "/out/configuration.json")
        #expect((configuration["reinforcement"] as? [String: Any])?["steps"] as? Int == 3)
    }

    @Test("unknown keys, bad values and missing files get one clear error")
    func badConfigurations() throws {
        let directory = try AlignmentCommandTests.makeDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try "reinforcement: {stepz: 3}\n".write(toFile: directory + "/typo.yaml", atomically: true, encoding: .utf8)
        let typo = try CommandLineTests.run(["experiment", directory + "/typo.yaml", "--output", directory + "/out"])
        #expect(typo.status != 0 && typo.error.contains("unknown key 'reinforcement.stepz'"), "\(typo.error)")
        try #"{"runs": [{"algorithms": ["ppo2"], "proxies": ["single"], "betas": [0.1]}]}"#.write(toFile: directory + "/bad.json", atomically: true, encoding: .utf8)
        let bad = try CommandLineTests.run(["experiment", directory + "/bad.json", "--output", directory + "/out"])
        #expect(bad.status != 0 && bad.error.contains("unknown algorithm 'ppo2'"), "\(bad.error)")
        let missing = try CommandLineTests.run(["experiment", directory + "/none.yaml"])
        #expect(missing.status != 0 && missing.error.contains("cannot read"), "\(missing.error)")
        #expect(!FileManager.default.fileExists(atPath: directory + "/out"))
        let defaults = try CommandLineTests.run(["experiment", "--print-defaults"])
        #expect(defaults.status == 0 && defaults.output.contains("\"responses_per_step\" : 64"))
    }
}
