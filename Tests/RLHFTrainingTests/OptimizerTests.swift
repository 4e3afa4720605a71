import Foundation
import RLHFModel
import RLHFTensor
import RLHFTraining
import Testing
import _RLHFTestSupport

@Suite("AdamW, schedules and clipping")
struct OptimizerTests {
    static let configuration = LlamaConfiguration(
        vocabularySize: 11, hiddenSize: 8, intermediateSize: 12, blockCount: 2, attentionHeadCount: 2,
        keyValueHeadCount: 1, maximumSequenceLength: 32)

    /// torch.optim.AdamW written out in Double for one scalar, step by step.
    func referenceAdamW(p: Double, gradients: [Double], lr: Double, b1: Double, b2: Double, eps: Double, wd: Double) -> Double {
        var p = p, m = 0.0, v = 0.0
        for (index, g) in gradients.enumerated() {
            let t = Double(index + 1)
            p *= 1 - lr * wd
            m = b1 * m + (1 - b1) * g
            v = b2 * v + (1 - b2) * g * g
            let denominator = (v.squareRoot() / (1 - pow(b2, t)).squareRoot()) + eps
            p -= lr / (1 - pow(b1, t)) * m / denominator
        }
        return p
    }

    @Test func adamWMatchesTheTorchFormula() {
        let model = LlamaModel(configuration: Self.configuration, seed: 1)
        let optimizer = AdamW(model: model, configuration: .init(weightDecay: 0.1))
        let start = model.parameters.array
        let gradientSteps = (0..<3).map { randomFloats(model.parameterCount, seed: UInt64(10 + $0)) }
        for gradient in gradientSteps {
            model.gradients.pointer.update(from: gradient, count: gradient.count)
            optimizer.update(model, learningRate: 0.05)
        }
        for i in stride(from: 0, to: model.parameterCount, by: 37) {
            let expected = referenceAdamW(
                p: Double(start[i]), gradients: gradientSteps.map { Double($0[i]) }, lr: 0.05, b1: 0.9, b2: 0.999,
                eps: 1e-8, wd: 0.1)
            #expect(abs(Double(model.parameters[i]) - expected) < 1e-5)
        }
        #expect(optimizer.step == 3)
    }

    @Test func frozenParametersDoNotMove() {
        let model = LlamaModel(configuration: Self.configuration, seed: 1)
        model.trainable = .topBlocks(1, of: 2)
        let optimizer = AdamW(model: model, configuration: .init())
        let before = model.parameters.array
        model.gradients.pointer.update(repeating: 1, count: model.parameterCount)
        optimizer.update(model, learningRate: 0.1)
        for entry in model.layout.entries {
            let moved = before[entry.offset] != model.parameters[entry.offset]
            #expect(moved == model.isTrainable(entry), "\(entry.name)")
        }
    }

    @Test func decayCanSkipNormsAndBiases() {
        let model = LlamaModel(configuration: Self.configuration, seed: 1)
        let optimizer = AdamW(model: model, configuration: .init(weightDecay: 0.5, decayNormsAndBiases: false))
        model.zeroGradients()
        optimizer.update(model, learningRate: 0.1)  // zero gradient: only decay can move a parameter
        let norm = model.layout.entry(named: "model.norm.weight")!
        let down = model.layout.entry(named: "model.layers.0.mlp.down_proj.weight")!
        #expect(model.parameters[norm.offset] == 1)
        #expect(model.parameters[down.offset] != 0)
    }

    @Test func schedules() {
        #expect(LearningRateSchedule.constant.multiplier(step: 7) == 1)
        let warmup = LearningRateSchedule.linearWarmup(warmupSteps: 4)
        #expect(warmup.multiplier(step: 0) == 0 && warmup.multiplier(step: 2) == 0.5 && warmup.multiplier(step: 9) == 1)
        let linear = LearningRateSchedule.linear(warmupSteps: 2, totalSteps: 10)
        #expect(linear.multiplier(step: 1) == 0.5 && linear.multiplier(step: 2) == 1 && linear.multiplier(step: 6) == 0.5)
        #expect(linear.multiplier(step: 10) == 0)
        let cosine = LearningRateSchedule.cosine(warmupSteps: 2, totalSteps: 12, minimumRatio: 0.1)
        #expect(cosine.multiplier(step: 2) == 1)
        #expect(abs(cosine.multiplier(step: 7) - 0.55) < 1e-6)
        #expect(abs(cosine.multiplier(step: 12) - 0.1) < 1e-6)
        #expect(abs(cosine.learningRate(step: 7, baseRate: 2) - 1.1) < 1e-6)
    }

    @Test func clippingScalesToTheMaximumNorm() {
        let model = LlamaModel(configuration: Self.configuration, seed: 1)
        model.gradients.pointer.update(repeating: 0.5, count: model.parameterCount)
        let expectedNorm = 0.5 * Float(model.parameterCount).squareRoot()
        #expect(abs(GradientClipping.globalNorm(model) - expectedNorm) < 1e-3 * expectedNorm)
        let before = GradientClipping.clip(model, maximumNorm: 1)
        #expect(abs(before - expectedNorm) < 1e-3 * expectedNorm)
        #expect(abs(GradientClipping.globalNorm(model) - 1) < 1e-4)
        // Below the maximum nothing changes.
        #expect(abs(GradientClipping.clip(model, maximumNorm: 10) - 1) < 1e-4)
        #expect(abs(GradientClipping.globalNorm(model) - 1) < 1e-4)
        model.gradients[3] = .nan
        #expect(GradientClipping.clip(model, maximumNorm: 1).isNaN)
    }

    @Test func languageModelingLossMasksPromptsAndPadding() {
        let batch = TokenBatch(rows: [[1, 2, 3], [4, 5]], sequenceLength: 3)
        let logProbs: [Float] = [0, -1, -2, 0, -4, 0]
        let plain = LanguageModelingLoss.mean(logProbs: logProbs, batch: batch)
        #expect(abs(plain.loss - 7.0 / 3) < 1e-9)
        let third: Float = -1.0 / 3
        let expectedPlain: [Float] = [0, third, third, 0, third, 0]
        #expect(plain.gradient == expectedPlain)
        let masked = LanguageModelingLoss.mean(logProbs: logProbs, batch: batch, weights: [0, 0, 1, 0, 1, 1])
        #expect(abs(masked.loss - 3) < 1e-9)
        let expectedMasked: [Float] = [0, 0, -0.5, 0, -0.5, 0]
        #expect(masked.gradient == expectedMasked)
    }
}
