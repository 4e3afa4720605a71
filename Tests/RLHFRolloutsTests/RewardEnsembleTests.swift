import Foundation
import RLHFAlignment
import RLHFModel
import RLHFRollouts
import RLHFTokenizer
import Testing
import _RLHFTestSupport

/// Reward models and ensembles as reward sources, on tiny random byte-level Llamas.
@Suite("Reward model and ensemble sources")
struct RewardEnsembleTests {
    static let configuration = TinyByteModel.configuration(blocks: 3)

    /// A member: the same base (seed 1), its own top block and head (from `seed`).
    static func member(seed: UInt64, sameBase: Bool = true) throws -> RewardModel {
        let model = LlamaModel(configuration: configuration, scalarHead: true, seed: sameBase ? 1 : seed)
        let donor = LlamaModel(configuration: configuration, scalarHead: true, seed: 100 + seed)
        for entry in model.layout.entries where entry.block == 2 {
            (model.parameters.pointer + entry.offset).update(from: donor.parameters.pointer + entry.offset, count: entry.count)
        }
        model.initializeScalarHead(seed: seed)
        return try RewardModel(PretrainedModel(model: model, tokenizer: ByteTokenizer(), chatTemplate: nil), batchSize: 3)
    }

    static let inputs = ["yes", "no thanks", "a longer answer here", "ok", "fine, really"].enumerated().map { index, text in
        RewardInput(prompt: "Q\(index)", response: text, promptTokens: [256] + ByteTokenizer().encode("Q\(index): "),
                    responseTokens: ByteTokenizer().encode(text))
    }

    @Test("members sharing a frozen trunk score from it as they score alone; every combiner")
    func sharedTrunkScores() throws {
        let members = try (0..<4).map { try Self.member(seed: UInt64($0)) }
        let separately = try members.map { try $0.scores(for: Self.inputs) }
        #expect(Set(separately.map { $0.map { Float($0) } }).count == 4)  // seeds are used
        for combiner in [EnsembleCombiner.mean, .worstCase, .uncertaintyWeighted(lambda: 0.5, variance: .population)] {
            let ensemble = RewardEnsemble(members: members, combiner: combiner, sharedBlocks: 2)
            #expect(ensemble.sharedBlocks == 2)
            let shared = try ensemble.memberScores(for: Self.inputs)
            for (a, b) in zip(shared, separately) { #expect(maximumAbsoluteDifference(a.map(Float.init), b.map(Float.init)) < 1e-5) }
            let combined = try ensemble.scores(for: Self.inputs)
            #expect(combined.count == Self.inputs.count)
            for (index, value) in combined.enumerated() {
                #expect(abs(value - combiner.combine(separately.map { $0[index] })) < 1e-5)
            }
        }
    }

    @Test("the shared blocks are checked, not trusted")
    func sharedBlocksAreVerified() throws {
        let same = try (0..<2).map { try Self.member(seed: UInt64($0)) }
        #expect(RewardEnsemble(members: same, combiner: .mean, sharedBlocks: 3).sharedBlocks == 2)  // block 2 differs
        let different = [try Self.member(seed: 0), try Self.member(seed: 5, sameBase: false)]
        #expect(RewardEnsemble(members: different, combiner: .mean, sharedBlocks: 2).sharedBlocks == 0)
        let ensemble = RewardEnsemble(members: different, combiner: .mean, sharedBlocks: 2)
        let separately = try different.map { try $0.scores(for: Self.inputs) }
        #expect(try ensemble.memberScores(for: Self.inputs) == separately)
    }

    @Test("an ensemble reports its members' disagreement, also inside a weighted sum")
    func disagreement() throws {
        let members = try (0..<3).map { try Self.member(seed: UInt64($0)) }
        let ensemble = RewardEnsemble(members: members, combiner: .mean, sharedBlocks: 2)
        let separately = try members.map { try $0.scores(for: Self.inputs) }
        let (scores, diagnostics) = try ensemble.checkedScoresAndDiagnostics(for: Self.inputs)
        #expect(scores == (try ensemble.scores(for: Self.inputs)))
        let expected = Self.inputs.indices.map { i in Statistics.meanAndStandardDeviation(separately.map { $0[i] }).standardDeviation }
            .reduce(0, +) / Double(Self.inputs.count)
        #expect(abs(try #require(diagnostics.value(named: "ensemble/disagreement")) - expected) < 1e-6)
        #expect(expected > 0)
        let means = separately.map { $0.reduce(0, +) / Double(Self.inputs.count) }
        #expect(abs(try #require(diagnostics.value(named: "ensemble/member_mean_max")) - means.max()!) < 1e-6)
        // One member alone disagrees with nobody.
        let alone = try RewardEnsemble(members: [members[0]], combiner: .mean).checkedScoresAndDiagnostics(for: Self.inputs)
        #expect(alone.diagnostics.value(named: "ensemble/disagreement") == 0)
        // Summed with a rule, the sum reports each source's mean and passes the ensemble's diagnostics on.
        let sum = try WeightedRewardSum(sources: [ensemble, ProgrammaticReward.make(name: "eos")], weights: [1, 0.5])
        let summed = try sum.checkedScoresAndDiagnostics(for: Self.inputs)
        #expect(summed.diagnostics.value(named: "ensemble/disagreement") != nil)
        #expect(summed.diagnostics.value(named: "rewards/" + ensemble.name) != nil)
        // A source without diagnostics gives none.
        #expect(try ProgrammaticReward.make(name: "eos").checkedScoresAndDiagnostics(for: Self.inputs).diagnostics.isEmpty)
    }

    @Test("a reward model appends the end token once and reads the last position")
    func endToken() throws {
        let member = try Self.member(seed: 3)
        #expect(member.endToken == 257)
        let plain = try member.score(prompts: [[256, 65]], responses: [[66, 67]])
        let ended = try member.score(prompts: [[256, 65]], responses: [[66, 67, 257]])
        #expect(plain == ended)
    }
}
