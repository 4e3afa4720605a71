import Foundation
import RLHFModel
import RLHFTensor
import Testing

/// Decoding from Q8_0 copies of the frozen weights: what is quantized, that teacher-forced passes
/// are untouched, and that decoding stays close to the float model.
@Suite("Quantized sampling weights")
struct SamplingWeightsTests {
    static let configuration = LlamaConfiguration(
        vocabularySize: 53, hiddenSize: 64, intermediateSize: 96, blockCount: 3, attentionHeadCount: 4,
        keyValueHeadCount: 2, ropeTheta: 500, maximumSequenceLength: 64)

    static func makeModel() -> LlamaModel {
        let model = LlamaModel(configuration: configuration, seed: 3)
        var generator = SeededGenerator(seed: 9)
        for entry in model.layout.entries where ![.attentionNorm, .mlpNorm, .finalNorm].contains(entry.role) {
            generator.fillGaussian(model.parameters.pointer + entry.offset, count: entry.count, standardDeviation: 0.1)
        }
        return model
    }

    @Test("frozen matrices only: all four per frozen block, the tied head when the embedding is frozen",
          .enabled(if: QuantizedMatrix.isAvailable))
    func whatIsQuantized() {
        let model = Self.makeModel()
        model.trainable = .all
        #expect(model.quantizeForSampling(.q8_0) == nil && model.samplingWeights == nil)
        model.trainable = .topBlocks(1, of: 3)
        let weights = model.quantizeForSampling(.q8_0)
        #expect(weights?.matrixCount == 4 * 2 + 1)
        let c = Self.configuration, W = c.queryWidth + 2 * c.keyValueWidth
        let perBlock = W * 64 + 64 * c.queryWidth + 2 * 96 * 64 + 64 * 96
        #expect(weights?.weightCount == 2 * perBlock + 53 * 64)
        model.trainable = .none
        #expect(model.quantizeForSampling(.q8_0)?.matrixCount == 4 * 3 + 1)
        #expect(model.quantizeForSampling(.f32) == nil && model.samplingWeights == nil)
    }

    @Test("teacher-forced forwards ignore the copies; decoding with them stays within 0.05 nats and keeps no trunk states",
          .enabled(if: QuantizedMatrix.isAvailable))
    func decodingIsCloseAndTrainingUntouched() throws {
        let model = Self.makeModel()
        model.trainable = .none
        let rows: [[Int]] = [[1, 5, 9, 2, 40, 33, 7, 8, 12, 50], [3, 3, 17, 44, 21, 6], [52, 0, 11, 30, 31, 32, 29, 28]]
        let batch = TokenBatch(rows: rows)
        let before = try model.forward(batch).tokenLogProbs
        model.quantizeForSampling(.q8_0)
        #expect(try model.forward(batch).tokenLogProbs == before)

        let error = try model.samplingWeightError(tokens: rows)
        #expect(error.positions == rows.reduce(0) { $0 + $1.count - 1 })
        #expect(error.maximumAbsoluteLogProbDifference > 0, "the copies are used")
        #expect(error.maximumAbsoluteLogProbDifference < 0.05 && error.meanKL < 1e-3, "\(error)")
        #expect(model.samplingWeights != nil, "the copies are back after the comparison")

        let parameters = SamplingParameters(temperature: 1, maximumNewTokens: 6, seed: 4)
        let quantized = try model.generate(prompts: [[1, 2, 3], [4]], parameters: parameters, captureStatesEnteringBlock: 2)
        #expect(quantized.trunkStates == nil)
        model.quantizeForSampling(.f32)
        let exact = try model.generate(prompts: [[1, 2, 3], [4]], parameters: parameters, captureStatesEnteringBlock: 2)
        #expect(exact.trunkStates != nil)
        // Same seed: the draws agree wherever the small log-prob shift does not move a sample.
        for (a, b) in zip(quantized.modelLogProbs, exact.modelLogProbs) {
            for (x, y) in zip(a, b) where quantized.tokens == exact.tokens { #expect(abs(x - y) < 0.05) }
        }
    }
}
