import Foundation
import RLHFModel
import RLHFTensor
import Testing
import _RLHFTestSupport

@Suite("KV-cache decoding and sampling")
struct GenerationTests {
    static let configuration = LlamaConfiguration(
        vocabularySize: 29, hiddenSize: 32, intermediateSize: 24, blockCount: 2, attentionHeadCount: 4,
        keyValueHeadCount: 2, ropeTheta: 500, maximumSequenceLength: 64)

    static func makeModel() -> LlamaModel {
        let model = LlamaModel(configuration: configuration, seed: 11)
        var generator = SeededGenerator(seed: 5)
        for entry in model.layout.entries where entry.role != .attentionNorm && entry.role != .mlpNorm && entry.role != .finalNorm {
            generator.fillGaussian(model.parameters.pointer + entry.offset, count: entry.count, standardDeviation: 0.5)
        }
        return model
    }

    static let prompts = [[1, 4, 9, 16], [2], [3, 5, 7, 11, 13, 17, 19]]

    @Test("prefill and step-by-step decoding reproduce the full forward's logits")
    func extendMatchesFullForward() throws {
        let model = Self.makeModel()
        let V = Self.configuration.vocabularySize
        let continuations = [[20, 21, 22], [23, 24, 25, 26, 27], [28]]
        let cache = model.makeCache(batchSize: 3, capacity: 16)
        var stepLogits = [try model.extend(cache, with: Self.prompts)]
        for step in 0..<5 {
            stepLogits.append(try model.extend(cache, with: continuations.map { step < $0.count ? [$0[step]] : [] }))
        }
        for b in 0..<3 {
            let full = Self.prompts[b] + continuations[b]
            let reference = try model.logits(for: TokenBatch(rows: [full]))
            // Logits after the prompt, then after each continuation token.
            for step in 0...continuations[b].count {
                let position = Self.prompts[b].count - 1 + step
                let expected = Array(reference[(position * V)..<((position + 1) * V)])
                let actual = Array(stepLogits[step][(b * V)..<((b + 1) * V)])
                #expect(maximumAbsoluteDifference(actual, expected) < 1e-4, "row \(b) step \(step)")
            }
        }
        #expect(cache.lengths == [7, 6, 8])
        // Rows that got no new tokens return zeros.
        #expect(stepLogits[5][0..<V].allSatisfy { $0 == 0 })
    }

    @Test("batched greedy generation equals the no-cache reference decoder, row by row")
    func greedyMatchesReference() throws {
        let model = Self.makeModel()
        let result = try model.generate(prompts: Self.prompts, parameters: .greedy(maximumNewTokens: 12))
        for (b, prompt) in Self.prompts.enumerated() {
            #expect(result.tokens[b] == (try model.greedyContinuationReference(prompt: prompt, maximumNewTokens: 12)))
            #expect(result.finishReasons[b] == .length)
            #expect(result.samplingLogProbs[b].allSatisfy { $0 == 0 })
        }
    }

    @Test("sampled tokens' model log-probs equal teacher-forced log-probs of the same text")
    func decodeLogProbsMatchTeacherForcing() throws {
        let model = Self.makeModel()
        let parameters = SamplingParameters(temperature: 0.8, topK: 10, maximumNewTokens: 10, seed: 3)
        let result = try model.generate(prompts: Self.prompts, parameters: parameters)
        for (b, prompt) in Self.prompts.enumerated() {
            let full = prompt + result.tokens[b]
            let teacherForced = try model.forward(TokenBatch(rows: [full])).tokenLogProbs
            for (i, logProb) in result.modelLogProbs[b].enumerated() {
                #expect(abs(logProb - teacherForced[prompt.count + i]) < 1e-4)
            }
            // Under temperature and top-k, the sampling distribution is sharper than the model's.
            #expect(zip(result.samplingLogProbs[b], result.modelLogProbs[b]).contains { $0 > $1 })
        }
    }

    @Test("seeded, reproducible, and a row's sample does not depend on its batch")
    func reproducibility() throws {
        let model = Self.makeModel()
        let parameters = SamplingParameters(temperature: 1, maximumNewTokens: 8, seed: 42)
        let first = try model.generate(prompts: Self.prompts, parameters: parameters)
        let second = try model.generate(prompts: Self.prompts, parameters: parameters)
        #expect(first.tokens == second.tokens)
        var other = parameters
        other.seed = 43
        #expect(try model.generate(prompts: Self.prompts, parameters: other).tokens != first.tokens)
        let alone = try model.generate(prompts: [Self.prompts[0]], parameters: parameters)
        #expect(alone.tokens[0] == first.tokens[0])
    }

    @Test("stop tokens, stop conditions and the token limit")
    func stopping() throws {
        let model = Self.makeModel()
        let greedy = try model.generate(prompts: [Self.prompts[0]], parameters: .greedy(maximumNewTokens: 6))
        let stopToken = greedy.tokens[0][2]
        let stopped = try model.generate(
            prompts: [Self.prompts[0]], parameters: .greedy(maximumNewTokens: 6, stopTokenIds: [stopToken]))
        #expect(stopped.tokens[0] == Array(greedy.tokens[0].prefix(upTo: greedy.tokens[0].firstIndex(of: stopToken)! + 1)))
        #expect(stopped.finishReasons[0] == .stopToken)
        var streamed = [Int]()
        let conditioned = try model.generate(
            prompts: [Self.prompts[0]], parameters: .greedy(maximumNewTokens: 6),
            stopCondition: { _, tokens in tokens.count == 4 }, onToken: { _, token in streamed.append(token) })
        #expect(conditioned.tokens[0].count == 4 && conditioned.finishReasons[0] == .stopCondition)
        #expect(streamed == conditioned.tokens[0])
        // The sequence limit ends generation instead of overflowing.
        let long = try model.generate(prompts: [Array(repeating: 1, count: 60)], parameters: .greedy(maximumNewTokens: 20))
        #expect(long.tokens[0].count == 5 && long.finishReasons[0] == .length)
    }

    @Test("the sampler follows softmax(logits / T), truncated by top-k and top-p")
    func samplerDistribution() {
        let logits: [Float] = [2, 1, 0.5, 0, -1, 3]
        let V = logits.count
        let scratch = FloatBuffer(count: 2 * V)
        func frequencies(_ parameters: SamplingParameters, draws: Int = 40_000) -> ([Double], [TokenSampler.Draw]) {
            var generator = SeededGenerator(seed: 9)
            var counts = [Double](repeating: 0, count: V)
            var samples = [TokenSampler.Draw]()
            for _ in 0..<draws {
                let draw = logits.withUnsafeBufferPointer {
                    TokenSampler.draw($0.baseAddress!, count: V, parameters: parameters, generator: &generator, scratch: scratch.pointer)
                }
                counts[draw.token] += 1
                if samples.count < 50 { samples.append(draw) }
            }
            return (counts.map { $0 / Double(draws) }, samples)
        }
        func softmax(_ values: [Float], temperature: Double) -> [Double] {
            let e = values.map { Foundation.exp(Double($0) / temperature) }
            let total = e.reduce(0, +)
            return e.map { $0 / total }
        }
        let temperature = SamplingParameters(temperature: 0.7)
        let (observed, samples) = frequencies(temperature)
        let expected = softmax(logits, temperature: 0.7)
        for v in 0..<V { #expect(abs(observed[v] - expected[v]) < 0.01, "token \(v)") }
        let modelDistribution = softmax(logits, temperature: 1)
        for draw in samples {
            #expect(abs(Double(draw.samplingLogProb) - Foundation.log(expected[draw.token])) < 1e-4)
            #expect(abs(Double(draw.modelLogProb) - Foundation.log(modelDistribution[draw.token])) < 1e-4)
        }
        // top-k = 2 keeps tokens 5 and 0 only, renormalised.
        let (topK, _) = frequencies(SamplingParameters(temperature: 1, topK: 2))
        let pair = softmax([logits[0], logits[5]], temperature: 1)
        #expect(abs(topK[0] - pair[0]) < 0.01 && abs(topK[5] - pair[1]) < 0.01)
        #expect(topK[1] == 0 && topK[2] == 0 && topK[3] == 0 && topK[4] == 0)
        // Probabilities are 0.605 (5), 0.222 (0), 0.082 (1), …: top-p 0.8 keeps {5, 0}; 0.85 adds 1.
        let (topP, _) = frequencies(SamplingParameters(temperature: 1, topP: 0.8))
        #expect(abs(topP[0] - pair[0]) < 0.01 && abs(topP[5] - pair[1]) < 0.01)
        #expect(topP[1] == 0 && topP[2] == 0 && topP[3] == 0 && topP[4] == 0)
        let (wider, _) = frequencies(SamplingParameters(temperature: 1, topP: 0.85))
        let triple = softmax([logits[0], logits[1], logits[5]], temperature: 1)
        #expect(abs(wider[1] - triple[1]) < 0.01 && wider[2] == 0)
    }

    @Test("rows that share a prompt prefill it once and sample as if each had its own")
    func sharedPromptPrefill() throws {
        let model = Self.makeModel()
        let prompts = [[1, 4, 9, 16], [1, 4, 9, 16], [3, 5], [1, 4, 9, 16]]
        let seeds: [UInt64] = [11, 12, 13, 14]
        let parameters = SamplingParameters(temperature: 1, maximumNewTokens: 6, seed: 0)
        let shared = try model.generate(prompts: prompts, parameters: parameters, rowSeeds: seeds, captureStatesEnteringBlock: 1)
        for (b, prompt) in prompts.enumerated() {
            let alone = try model.generate(prompts: [prompt], parameters: parameters, rowSeeds: [seeds[b]], captureStatesEnteringBlock: 1)
            #expect(shared.tokens[b] == alone.tokens[0], "row \(b)")
            for (x, y) in zip(shared.modelLogProbs[b], alone.modelLogProbs[0]) { #expect(abs(x - y) < 1e-5) }
            let states = shared.trunkStates![b], own = alone.trunkStates![0]
            #expect(states.count == own.count)
            for (x, y) in zip(states, own) { #expect(abs(x - y) <= 1e-5 * max(1, abs(y)) * 10) }  // the batch rounds differently
        }
    }
}
