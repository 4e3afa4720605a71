import Foundation
import RLHFData
import RLHFModel
import RLHFTensor
import RLHFTokenizer
import RLHFTraining
import Testing
import _RLHFTestSupport

/// SFT on dataset examples with loss masks, on a tiny random byte-level Llama.
@Suite("SFT on examples with loss masks", .serialized)
struct SFTExamplesTests {
    /// "Q: …\nA: " prompts (masked out) and answers (trained on), as prompt + completion records give.
    static func examples(count: Int, seed: UInt64) -> [TokenizedSFTExample] {
        var generator = SeededGenerator(seed: seed)
        let tokenizer = ByteTokenizer()
        return (0..<count).map { _ in
            let n = Int(generator.next() % 5)
            let prompt = [256] + tokenizer.encode("Q: count \(n)\nA: ")
            let completion = tokenizer.encode(String(repeating: "ab", count: n + 1)) + [257]
            return TokenizedSFTExample(tokens: prompt + completion,
                                       lossMask: Array(repeating: false, count: prompt.count) + Array(repeating: true, count: completion.count))
        }
    }

    @Test("prompt tokens contribute nothing to the loss or its gradient")
    func promptTokensAreMasked() throws {
        let model = TinyByteModel.pretrained(seed: 2).model
        let examples = Self.examples(count: 3, seed: 1)
        let (batch, weights) = SFTTrainer.pack(examples, paddingToken: 258)
        let logProbs = try model.forward(batch).tokenLogProbs
        let (loss, gradient) = LanguageModelingLoss.mean(logProbs: logProbs, batch: batch, weights: weights)
        // Only completion positions carry gradient.
        for (index, value) in gradient.enumerated() where weights[index] == 0 { #expect(value == 0) }
        // Changing what the model says at prompt positions changes nothing.
        var changed = logProbs
        for index in changed.indices where weights[index] == 0 { changed[index] -= 3 }
        #expect(LanguageModelingLoss.mean(logProbs: changed, batch: batch, weights: weights).loss == loss)
        // The loss is the mean NLL over completion tokens, computed by hand.
        var total = 0.0, count = 0.0
        for (b, example) in examples.enumerated() {
            for t in 1..<example.tokens.count where example.lossMask[t] {
                total -= Double(logProbs[b * batch.sequenceLength + t])
                count += 1
            }
        }
        #expect(abs(loss - total / count) < 1e-9)
        #expect(abs(try SFTTrainer.evaluate(model: model, examples: examples, batchSize: 2, paddingToken: 258) - total / count) < 1e-5)
    }

    @Test("training lowers the held-out completion loss; an interrupted run resumes bit-identically")
    func trainsAndResumes() throws {
        let training = Self.examples(count: 24, seed: 3), heldOut = Self.examples(count: 8, seed: 4)
        var parameters = SFTTrainer.ExampleParameters()
        parameters.training.epochs = 3
        parameters.training.batchSize = 4
        parameters.training.learningRate = 3e-3
        func fresh() -> (LlamaModel, AdamW, Checkpoint.TrainerState) {
            let model = TinyByteModel.pretrained(seed: 2).model
            return (model, AdamW(model: model, configuration: parameters.training.optimizer),
                    SFTTrainer.initialState(for: model, parameters: parameters, examples: training.count))
        }
        var (straight, optimizer, state) = fresh()
        var losses = [Double]()
        try SFTTrainer.train(model: straight, optimizer: optimizer, state: &state, examples: training, heldOut: heldOut,
                             parameters: parameters, paddingToken: 258) { event in
            if case let .evaluation(_, loss) = event { losses.append(loss) }
            return .more
        }
        #expect(state.step == 18 && losses.count == 2)
        #expect(losses[1] < losses[0] - 0.5, "held-out completion loss \(losses)")

        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("rlhf-sft-examples-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var (first, firstOptimizer, firstState) = fresh()
        try SFTTrainer.train(model: first, optimizer: firstOptimizer, state: &firstState, examples: training, heldOut: [],
                             parameters: parameters, paddingToken: 258,
                             checkpoint: { state in
                                 try Checkpoint.save(model: first, optimizer: firstOptimizer, state: state, parameters: parameters, to: directory)
                                 return directory
                             }) { event in
            if case let .step(metrics) = event, metrics.step == 7 { return .stop }
            return .more
        }
        let restored = try Checkpoint.load(from: directory, optimizer: parameters.training.optimizer)
        var resumed = restored.state
        #expect(resumed.step == 7)
        try SFTTrainer.train(model: restored.model, optimizer: restored.optimizer, state: &resumed, examples: training, heldOut: [],
                             parameters: parameters, paddingToken: 258) { _ in .more }
        #expect(resumed.step == 18)
        #expect(restored.model.parameters.array == straight.parameters.array, "resumed weights must be bit-identical")
        _ = (optimizer, first)
    }
}
