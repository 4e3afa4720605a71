import RLHFEvaluation
import RLHFModel
import RLHFRollouts
import RLHFTokenizer
import Testing
import _RLHFTestSupport

/// Policy evaluation on a tiny random byte-level Llama.
@Suite("Policy evaluation")
struct PolicyEvaluationTests {
    static let configuration = TinyByteModel.configuration(blocks: 2)

    static func policy(seed: UInt64) -> PretrainedModel { TinyByteModel.pretrained(seed: seed) }

    static let prompts = (0..<24).map { RolloutGenerator.Prompt(id: $0, tokens: [256, 65 + $0 % 26, 97 + $0 % 7], text: "p\($0)") }

    struct CountA: RewardSource {
        var name: String { "count-a" }
        func scores(for inputs: [RewardInput]) throws -> [Double] { inputs.map { Double($0.responseTokens.filter { $0 % 2 == 0 }.count) } }
    }

    @Test("a policy against itself: KL 0, win rate near ½; against another model: KL > 0")
    func againstItself() throws {
        let policy = Self.policy(seed: 1), copy = Self.policy(seed: 1), other = Self.policy(seed: 2)
        let generator = RolloutGenerator(samplesPerPrompt: 2, sampling: SamplingParameters(temperature: 1, maximumNewTokens: 10, seed: 3))
        let report = try PolicyEvaluation.run(
            policy: policy, prompts: Self.prompts, reward: CountA(), reference: copy, versus: copy, generator: generator)
        #expect(report.samples == 48 && report.prompts == 24)
        #expect(report.klK1 == 0 && report.klK3 == 0)
        let winRate = try #require(report.winRate)
        #expect(abs(winRate - 0.5) < 0.15, "win rate \(winRate)")
        #expect(report.meanLength > 0 && report.shareWithoutEOS >= 0 && report.shareWithoutEOS <= 1)
        #expect(report.examples.count == 3)
        let against = try PolicyEvaluation.run(policy: policy, prompts: Self.prompts, reward: CountA(), reference: other, generator: generator)
        #expect((against.klK3 ?? 0) > 0)
        #expect(against.rewardMean == report.rewardMean)  // same policy, same seeds, same samples
    }
}
