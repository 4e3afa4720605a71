import Foundation
import RLHFAlignment
import RLHFData
import RLHFModel
import RLHFRollouts
import RLHFTensor
import RLHFTokenizer
import RLHFTraining
import Testing
import _RLHFTestSupport

/// The Bradley–Terry reward trainer on a tiny random byte-level Llama: its gradient by finite
/// differences, learning a rule, determinism and the seed actually being used.
@Suite("Reward model trainer")
struct RewardModelTrainerTests {
    static let configuration = TinyByteModel.configuration(blocks: 2)

    static func model(seed: UInt64 = 3) -> LlamaModel {
        let model = LlamaModel(configuration: configuration, scalarHead: true, seed: seed)
        model.initializeScalarHead(seed: seed)
        return model
    }

    /// Pairs whose chosen completion contains "yes" and rejected one does not.
    static func rulePairs(count: Int, seed: UInt64) -> [TokenizedPair] {
        var generator = SeededGenerator(seed: seed)
        let words = ["cat", "sun", "red", "box", "tree", "blue", "map", "cup"]
        func sentence(_ withKeyword: Bool) -> String {
            var parts = (0..<3).map { _ in words[Int(generator.next() % UInt64(words.count))] }
            if withKeyword { parts.insert("yes", at: Int(generator.next() % 4)) }
            return parts.joined(separator: " ")
        }
        let tokenizer = ByteTokenizer()
        return (0..<count).map { _ in
            TokenizedPair(prompt: [256] + tokenizer.encode("Q: "), chosen: tokenizer.encode(sentence(true)), rejected: tokenizer.encode(sentence(false)))
        }
    }

    @Test("∂(Bradley–Terry loss)/∂θ through the tiny model matches finite differences")
    func gradientByFiniteDifferences() throws {
        let model = Self.model()
        model.trainable = .topBlocks(1, of: 2)
        let pairs = Array(Self.rulePairs(count: 3, seed: 1))
        let margins: [Double] = [0.5, 0, 1]
        let pairsWithMargins = zip(pairs, margins).map { TokenizedPair(prompt: $0.prompt, chosen: $0.chosen, rejected: $0.rejected, margin: $1) }
        func loss(retain: Bool) throws -> (BradleyTerry.Result, ResponseSpans) {
            let spans = ResponseSpans(
                prompts: pairs.map(\.prompt) + pairs.map(\.prompt),
                responses: pairsWithMargins.map { $0.chosen + [257] } + pairsWithMargins.map { $0.rejected + [257] }, paddingToken: 258)
            let values = spans.last(try model.forward(spans.batch, tokenLogProbs: false, values: true, retainForBackward: retain).values).map(Double.init)
            return (BradleyTerry.loss(chosen: Array(values[..<3]), rejected: Array(values[3...]), margins: margins, centeringCoefficient: 0.1), spans)
        }
        model.zeroGradients()
        let (result, spans) = try loss(retain: true)
        try model.backward(valueGradients: spans.scatterLast((result.chosenGradient + result.rejectedGradient).map(Float.init)))
        for name in ["score.weight", "model.layers.1.mlp.down_proj.weight", "model.layers.1.self_attn.q_proj.weight", "model.norm.weight"] {
            let entry = try #require(model.layout.entry(named: name))
            let direction = randomFloats(entry.count, seed: 11)
            let numeric = try FiniteDifference.directionalDerivative(at: model.parameters.pointer + entry.offset, direction: direction, step: 1e-2) {
                try loss(retain: false).0.value
            }
            let analytic = FiniteDifference.dot(model.gradients.pointer + entry.offset, direction)
            #expect(abs(numeric - analytic) <= 2e-3 * max(1, abs(analytic)), "\(name): \(numeric) vs \(analytic)")
        }
        // Frozen block 0 gets nothing.
        let frozen = try #require(model.gradient(named: "model.layers.0.mlp.up_proj.weight"))
        #expect(frozen.allSatisfy { $0 == 0 })
    }

    @Test("learns a keyword rule to well above chance on held-out pairs")
    func learnsARule() throws {
        let model = Self.model()
        var parameters = RewardModelTrainer.Parameters()
        parameters.training.epochs = 6
        parameters.training.batchSize = 8
        parameters.training.learningRate = 3e-3
        var losses = [Double]()
        let evaluation = try #require(try RewardModelTrainer.train(
            model: model, pairs: Self.rulePairs(count: 96, seed: 1), heldOut: Self.rulePairs(count: 40, seed: 2),
            parameters: parameters, paddingToken: 258, endToken: 257
        ) { event in
            if case let .step(metrics, _) = event { losses.append(metrics.loss) }
            return .more
        })
        #expect(losses.count == 72)
        #expect(evaluation.accuracy >= 0.9, "held-out accuracy \(evaluation.accuracy)")
        #expect(evaluation.pairs == 40 && evaluation.margin > 0)
        #expect(evaluation.expectedCalibrationError >= 0 && evaluation.brierScore < 0.25)
    }

    @Test("same seed, same model; another seed (head and order), other scores")
    func seedsAreUsed() throws {
        func trained(seed: UInt64) throws -> [Double] {
            let model = Self.model(seed: 3)
            model.initializeScalarHead(seed: seed)
            var parameters = RewardModelTrainer.Parameters()
            parameters.training.learningRate = 1e-3
            parameters.training.seed = seed
            try RewardModelTrainer.train(
                model: model, pairs: Self.rulePairs(count: 16, seed: 1), heldOut: [], parameters: parameters,
                paddingToken: 258, endToken: 257) { _ in .more }
            return try RewardModelTrainer.scores(
                model: model, pairs: Self.rulePairs(count: 4, seed: 2), paddingToken: 258, endToken: 257, batchSize: 4).chosen
        }
        let a = try trained(seed: 0), b = try trained(seed: 0), c = try trained(seed: 1)
        #expect(a == b)
        #expect(a != c)
    }

    @Test("a batch's pairs score the same alone and together")
    func scoresIndependentOfBatching() throws {
        let model = Self.model()
        let pairs = Self.rulePairs(count: 5, seed: 4)
        let together = try RewardModelTrainer.scores(model: model, pairs: pairs, paddingToken: 258, endToken: 257, batchSize: 5)
        let alone = try RewardModelTrainer.scores(model: model, pairs: pairs, paddingToken: 258, endToken: 257, batchSize: 1)
        #expect(maximumAbsoluteDifference(together.chosen.map(Float.init), alone.chosen.map(Float.init)) < 1e-5)
    }

    @Test("training on the frozen trunk computed once equals training from the embeddings")
    func frozenTrunkTrainingMatches() throws {
        let pairs = Self.rulePairs(count: 12, seed: 6), heldOut = Self.rulePairs(count: 4, seed: 7)
        var parameters = RewardModelTrainer.Parameters()
        parameters.training.epochs = 2
        parameters.training.batchSize = 4
        parameters.training.learningRate = 1e-3
        func run(cached: Bool) throws -> (RewardModelTrainer.Evaluation?, [Float]) {
            let model = Self.model()
            model.trainable = .topBlocks(1, of: 2)
            #expect(RewardModelTrainer.frozenBlocks(of: model) == 1)
            let trunk = cached ? try RewardModelTrainer.frozenTrunk(model: model, pairs: pairs, block: 1, paddingToken: 258, endToken: 257, batchSize: 3) : nil
            let heldOutTrunk = cached ? try RewardModelTrainer.frozenTrunk(model: model, pairs: heldOut, block: 1, paddingToken: 258, endToken: 257, batchSize: 3) : nil
            let evaluation = try RewardModelTrainer.train(
                model: model, pairs: pairs, heldOut: heldOut, parameters: parameters, paddingToken: 258, endToken: 257,
                trunk: trunk, heldOutTrunk: heldOutTrunk) { _ in .more }
            return (evaluation, model.parameters.array)
        }
        let (plain, plainWeights) = try run(cached: false), (cached, cachedWeights) = try run(cached: true)
        #expect(relativeError(cachedWeights, plainWeights) < 1e-5)
        #expect(abs((plain?.loss ?? 0) - (cached?.loss ?? 1)) < 1e-4)
    }
}
