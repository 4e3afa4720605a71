import RLHFModel
import RLHFTensor
import RLHFTraining
import Testing
import _RLHFTestSupport

/// The tiny Llama against PyTorch: logits, loss, every gradient, four AdamW steps.
@Suite("Tiny Llama vs PyTorch")
struct TinyLlamaReferenceTests {
    static let multipliers: [any MatrixMultiplier] = [MatrixMultiply.best, PortableMatrixMultiplier()]

    @Test("logits within 1e-4", arguments: multipliers.indices)
    func logits(multiplierIndex: Int) throws {
        let reference = try TinyLlamaReference()
        let model = try reference.model(multiplier: Self.multipliers[multiplierIndex])
        let logits = try model.logits(for: reference.batch)
        let expected = try reference.outputs().floats("logits")
        #expect(logits.count == expected.count)
        let difference = maximumAbsoluteDifference(logits, expected)
        #expect(difference < 1e-4, "max |Δlogit| = \(difference) with \(model.multiplier.name)")
    }

    @Test("loss and every parameter gradient within 1e-3 relative", arguments: multipliers.indices)
    func gradients(multiplierIndex: Int) throws {
        let reference = try TinyLlamaReference()
        let model = try reference.model(multiplier: Self.multipliers[multiplierIndex])
        let batch = reference.batch
        let output = try model.forward(batch, retainForBackward: true)
        let (loss, dLogProbs) = LanguageModelingLoss.mean(logProbs: output.tokenLogProbs, batch: batch)
        #expect(abs(loss - reference.metadata.loss_safetensors_weights) < 1e-5, "loss \(loss)")
        model.zeroGradients()
        try model.backward(tokenLogProbGradients: dLogProbs)
        let outputs = try reference.outputs()
        for entry in model.layout.entries {
            let expected = try outputs.floats("grad." + entry.name)
            let actual = Array(try #require(model.gradient(named: entry.name)))
            let error = relativeError(actual, expected)
            #expect(error < 1e-3, "\(entry.name): relative error \(error)")
        }
    }

    @Test("four AdamW steps follow PyTorch's losses within 1e-4")
    func adamWTrajectory() throws {
        let reference = try TinyLlamaReference()
        let model = try reference.model()
        let run = reference.metadata.adamw
        let optimizer = AdamW(
            model: model,
            configuration: .init(beta1: run.betas[0], beta2: run.betas[1], epsilon: run.eps,
                                 weightDecay: run.weight_decay))
        let batch = reference.batch
        for expected in run.losses_before_each_of_4_steps {
            model.zeroGradients()
            let output = try model.forward(batch, retainForBackward: true)
            let (loss, dLogProbs) = LanguageModelingLoss.mean(logProbs: output.tokenLogProbs, batch: batch)
            #expect(abs(loss - expected) < 1e-4, "loss \(loss) vs PyTorch \(expected) at step \(optimizer.step)")
            try model.backward(tokenLogProbGradients: dLogProbs)
            optimizer.update(model, learningRate: Float(run.lr))
        }
    }
}
