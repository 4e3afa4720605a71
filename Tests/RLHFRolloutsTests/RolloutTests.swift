import Foundation
import RLHFData
import RLHFModel
import RLHFRollouts
import RLHFTokenizer
import Testing
import _RLHFTestSupport

/// Sampling, scoring and storing rollouts on a tiny random byte-level Llama.
@Suite("Rollouts")
struct RolloutTests {
    static let configuration = TinyByteModel.configuration(blocks: 2)

    static func policy(seed: UInt64 = 1) -> PretrainedModel { TinyByteModel.pretrained(seed: seed) }

    static let prompts = ["Hello", "ab", "The quick brown", "x"].enumerated().map { index, text in
        RolloutGenerator.Prompt(id: 100 + index, tokens: [256] + ByteTokenizer().encode(text), text: text, fields: ["n": .number(Double(index))])
    }

    static let generator = RolloutGenerator(
        samplesPerPrompt: 2, sampling: SamplingParameters(temperature: 1, maximumNewTokens: 12, seed: 5), batchRows: 8)

    struct LengthReward: RewardSource {
        var name: String { "length" }
        func scores(for inputs: [RewardInput]) throws -> [Double] { inputs.map { Double($0.responseTokens.count) } }
    }

    @Test("a row's samples depend on its prompt id and seed, not on its batch mates")
    func samplesIndependentOfBatch() throws {
        let policy = Self.policy()
        let together = try Self.generator.generate(policy: policy, prompts: Self.prompts)
        #expect(together.count == 8 && together.map(\.group) == [0, 0, 1, 1, 2, 2, 3, 3])
        for (index, prompt) in Self.prompts.enumerated() {
            var alone = Self.generator
            alone.batchRows = 1
            let single = try alone.generate(policy: policy, prompts: [prompt])
            #expect(single.map(\.tokens) == together.filter { $0.group == index }.map(\.tokens), "prompt \(index)")
        }
        // The two samples of a prompt differ (distinct seeds), and another phase draws anew.
        #expect(together[0].tokens != together[1].tokens || together[2].tokens != together[3].tokens)
        let nextPhase = try Self.generator.generate(policy: policy, prompts: Self.prompts, phase: 1)
        #expect(nextPhase.map(\.tokens) != together.map(\.tokens))
    }

    @Test("old log-probs are the teacher-forced ones; the sampler's agree closely; reference = a separate copy")
    func logProbsOfRollouts() throws {
        let policy = Self.policy(), reference = Self.policy()  // same seed: same weights, separate objects
        let completions = try Self.generator.generate(policy: policy, prompts: Self.prompts)
        let rollouts = try RolloutScorer(batchSize: 3).score(completions, policy: policy.model, reference: reference.model, reward: LengthReward())
        // The same batches give the same bits; other batch shapes agree to float rounding (GEMM
        // blocking depends on the number of rows and the padded length).
        let teacherForced = try SequenceScorer.tokenLogProbs(
            model: policy.model, prompts: rollouts.map(\.promptTokens), responses: rollouts.map(\.responseTokens), batchSize: 3)
        let alone = try SequenceScorer.tokenLogProbs(
            model: policy.model, prompts: rollouts.map(\.promptTokens), responses: rollouts.map(\.responseTokens), batchSize: 1)
        let separate = Self.policy()
        let referenceAlone = try SequenceScorer.tokenLogProbs(
            model: separate.model, prompts: rollouts.map(\.promptTokens), responses: rollouts.map(\.responseTokens), batchSize: 3)
        for (index, rollout) in rollouts.enumerated() {
            #expect(rollout.oldLogProbs == teacherForced[index])
            #expect(maximumAbsoluteDifference(rollout.oldLogProbs, alone[index]) < 1e-5)
            #expect(rollout.referenceLogProbs == referenceAlone[index])
            #expect(maximumAbsoluteDifference(rollout.samplerLogProbs, rollout.oldLogProbs) < 1e-4)
            #expect(rollout.reward == Double(rollout.responseTokens.count))
            #expect(abs(rollout.sequenceLogRatio) < 1e-9)  // policy == reference
        }
    }

    @Test("with only the top block training, policy and reference share the frozen trunk (same numbers, computed once)")
    func sharedTrunkScoring() throws {
        let policy = Self.policy(), reference = Self.policy()
        policy.model.trainable = .topBlocks(1, of: 2)
        #expect(LlamaModel.identicalLowerBlocks([policy.model, reference.model], atMost: 1) == 1)
        // The policy's top block moves away from the reference: shared trunk, different heads.
        let top = try #require(policy.model.parameter(named: "model.layers.1.mlp.down_proj.weight"))
        for i in top.indices { top[i] *= 1.5 }
        let completions = try Self.generator.generate(policy: policy, prompts: Self.prompts)
        let rollouts = try RolloutScorer(batchSize: 4).score(completions, policy: policy.model, reference: reference.model, reward: LengthReward())
        let own = try SequenceScorer.tokenLogProbs(model: policy.model, prompts: rollouts.map(\.promptTokens), responses: rollouts.map(\.responseTokens), batchSize: 4)
        let theirs = try SequenceScorer.tokenLogProbs(model: reference.model, prompts: rollouts.map(\.promptTokens), responses: rollouts.map(\.responseTokens), batchSize: 4)
        for (index, rollout) in rollouts.enumerated() {
            #expect(maximumAbsoluteDifference(rollout.oldLogProbs, own[index]) < 1e-5)
            #expect(maximumAbsoluteDifference(rollout.referenceLogProbs, theirs[index]) < 1e-5)
        }
        #expect(rollouts.contains { abs($0.sequenceLogRatio) > 1e-3 })
    }

    @Test("the store yields every rollout once per epoch, groups whole, deterministic under a seed")
    func storeMinibatches() throws {
        let policy = Self.policy()
        let completions = try Self.generator.generate(policy: policy, prompts: Self.prompts)
        let rollouts = try RolloutScorer().score(completions, policy: policy.model, reference: policy.model, reward: LengthReward())
        let store = RolloutStore(rollouts)
        #expect(store.groups.count == 4)
        let epochs = store.minibatches(epochs: 3, groupsPerMinibatch: 3, seed: 9)
        #expect(epochs.count == 3)
        for epoch in epochs {
            #expect(epoch.map(\.count) == [6, 2])
            let seen = epoch.flatMap { $0 }.map { [$0.group, $0.sample] }
            #expect(Set(seen).count == 8)
            for minibatch in epoch {
                let groups = Set(minibatch.map(\.group))
                for group in groups { #expect(minibatch.filter { $0.group == group }.count == 2) }
            }
        }
        #expect(epochs.map { $0.map { $0.map(\.group) } } == store.minibatches(epochs: 3, groupsPerMinibatch: 3, seed: 9).map { $0.map { $0.map(\.group) } })
        #expect(epochs[0].map { $0.map(\.group) } != epochs[1].map { $0.map(\.group) } || epochs[1].map { $0.map(\.group) } != epochs[2].map { $0.map(\.group) })
    }

    @Test("response spans: gather/scatter round trip, sums, last position, pad == eos counted by position")
    func responseSpans() {
        // Padding token 2 is also the EOS that ends the first response.
        let spans = ResponseSpans(prompts: [[5, 6], [7]], responses: [[8, 2], [9, 10, 11]], paddingToken: 2)
        #expect(spans.batch.sequenceLength == 4 && spans.batch.lengths == [4, 4])
        let perPosition: [Float] = [0, 0.1, 0.2, 0.3, 0, 1, 2, 3]
        #expect(spans.gather(perPosition) == [[0.2, 0.3], [1, 2, 3]])
        #expect(spans.sequenceSums(perPosition).map { Float($0) } == [0.5, 6])
        #expect(spans.last(perPosition) == [0.3, 3])
        #expect(spans.scatter(spans.gather(perPosition)) == [0, 0, 0.2, 0.3, 0, 1, 2, 3])
        #expect(spans.scatter(sequenceGradient: [1, -1]) == [0, 0, 1, 1, 0, -1, -1, -1])
        #expect(spans.scatterLast([4, 5]) == [0, 0, 0, 4, 0, 0, 0, 5])
        let ragged = ResponseSpans(prompts: [[5, 6, 7], [1]], responses: [[8], [9]], paddingToken: 0)
        #expect(ragged.last([0, 0, 0, 7, 0, 9, 0, 0]) == [7, 9])
    }

    @Test("the sampler keeps the residual entering a block; it equals the teacher-forced trunk but for the unfed last token")
    func sampledTrunkStates() throws {
        let policy = Self.policy()
        var generator = Self.generator
        generator.captureBlock = 1
        let completions = try generator.generate(policy: policy, prompts: Self.prompts)
        let C = Self.configuration.hiddenSize
        for completion in completions {
            let states = try #require(completion.trunkStates)
            let row = completion.prompt.tokens + completion.tokens
            #expect(states.count == row.count * C)
            let forced = try policy.model.trunkStates(for: TokenBatch(rows: [row]), enteringBlock: 1).rows[0]
            let kept = (row.count - 1) * C
            let close = zip(states.prefix(kept), forced.prefix(kept)).allSatisfy { abs($0 - $1) <= 1e-5 * max(1, abs($1)) }
            #expect(close)
            #expect(states.suffix(C).allSatisfy { $0 == 0 })
        }
        #expect(try Self.generator.generate(policy: policy, prompts: Self.prompts).allSatisfy { $0.trunkStates == nil })
    }
}
