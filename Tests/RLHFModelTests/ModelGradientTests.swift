import Foundation
import RLHFModel
import RLHFTensor
import Testing
import _RLHFTestSupport

/// The whole model's backward against finite differences, on a padded batch with grouped-query
/// attention, partial rotary dimensions, an untied head and a scalar head.
@Suite("Model backward vs finite differences")
struct ModelGradientTests {
    static let configuration = LlamaConfiguration(
        vocabularySize: 13, hiddenSize: 8, intermediateSize: 12, blockCount: 2, attentionHeadCount: 2,
        keyValueHeadCount: 1, headDimension: 4, ropeTheta: 100, rotaryDimensionCount: 4, rmsNormEpsilon: 1e-5,
        tiedEmbeddings: false, maximumSequenceLength: 16)
    static let batch = TokenBatch(rows: [[1, 5, 9, 3, 12], [2, 7, 7]], paddingToken: 4)

    /// A model with larger-than-default random weights so every path carries signal.
    static func makeModel(tied: Bool = false, scalarHead: Bool = true) -> LlamaModel {
        var configuration = Self.configuration
        configuration.tiedEmbeddings = tied
        let model = LlamaModel(configuration: configuration, scalarHead: scalarHead, seed: 7)
        var generator = SeededGenerator(seed: 99)
        for entry in model.layout.entries {
            let p = model.parameters.pointer + entry.offset
            for i in 0..<entry.count {
                let noise = generator.nextGaussian()
                switch entry.role {
                case .attentionNorm, .mlpNorm, .finalNorm: p[i] = 1 + 0.2 * noise
                default: p[i] = 0.4 * noise
                }
            }
        }
        return model
    }

    /// L = Σ c·logp + Σ d·value with fixed random weights c, d.
    static func loss(_ model: LlamaModel, batch: TokenBatch = batch) throws -> (Double, [Float], [Float]) {
        let n = batch.batchSize * batch.sequenceLength
        let c = randomFloats(n, seed: 123), d = model.hasScalarHead ? randomFloats(n, seed: 456) : []
        let output = try model.forward(batch, values: model.hasScalarHead)
        var total = 0.0
        for i in 0..<n { total += Double(c[i] * output.tokenLogProbs[i]) }
        for i in output.values.indices { total += Double(d[i] * output.values[i]) }
        return (total, c, d)
    }

    static func analyticGradients(_ model: LlamaModel, batch: TokenBatch = batch) throws {
        let (_, c, d) = try loss(model, batch: batch)
        _ = try model.forward(batch, values: model.hasScalarHead, retainForBackward: true)
        model.zeroGradients()
        try model.backward(tokenLogProbGradients: c, valueGradients: model.hasScalarHead ? d : nil)
    }

    @Test("every parameter tensor", arguments: [false, true])
    func everyParameter(tied: Bool) throws {
        let model = Self.makeModel(tied: tied)
        try Self.analyticGradients(model)
        for (index, entry) in model.layout.entries.enumerated() {
            var direction = randomFloats(entry.count, seed: UInt64(1000 + index))
            let norm = direction.reduce(0) { $0 + $1 * $1 }.squareRoot()
            direction = direction.map { $0 / norm }
            let numeric = try FiniteDifference.directionalDerivative(
                at: model.parameters.pointer + entry.offset, direction: direction, step: 1e-2
            ) { try Self.loss(model).0 }
            let analytic = FiniteDifference.dot(model.gradients.pointer + entry.offset, direction)
            #expect(abs(numeric - analytic) <= 1e-2 * max(1, abs(analytic)),
                    "\(entry.name): numeric \(numeric) vs analytic \(analytic)")
        }
    }

    @Test("padding never leaks: rows alone equal rows in a padded batch")
    func paddingInvariance() throws {
        let model = Self.makeModel()
        let together = try model.forward(Self.batch, values: true)
        let T = Self.batch.sequenceLength
        for b in 0..<Self.batch.batchSize {
            let alone = try model.forward(TokenBatch(rows: [Self.batch.row(b)]), values: true)
            let length = Int(Self.batch.lengths[b])
            for t in 0..<length {
                #expect(abs(alone.tokenLogProbs[t] - together.tokenLogProbs[b * T + t]) < 1e-5)
                #expect(abs(alone.values[t] - together.values[b * T + t]) < 1e-5)
            }
            for t in length..<T {
                #expect(together.tokenLogProbs[b * T + t] == 0 && together.values[b * T + t] == 0)
            }
        }
        // A different padding token and a longer padded length change nothing.
        let repadded = TokenBatch(rows: [Self.batch.row(0), Self.batch.row(1)], paddingToken: 11, sequenceLength: 7)
        let again = try model.forward(repadded, values: true)
        for b in 0..<2 {
            for t in 0..<Int(Self.batch.lengths[b]) {
                #expect(abs(again.tokenLogProbs[b * 7 + t] - together.tokenLogProbs[b * T + t]) < 1e-5)
            }
        }
        // Gradients of the padded batch equal the sum over rows run alone.
        let c = randomFloats(2 * T, seed: 5)
        _ = try model.forward(Self.batch, retainForBackward: true)
        model.zeroGradients()
        try model.backward(tokenLogProbGradients: c)
        let batched = model.gradients.array
        model.zeroGradients()
        for b in 0..<2 {
            let row = TokenBatch(rows: [Self.batch.row(b)], sequenceLength: T)
            _ = try model.forward(row, retainForBackward: true)
            try model.backward(tokenLogProbGradients: Array(c[(b * T)..<((b + 1) * T)]))
        }
        #expect(relativeError(model.gradients.array, batched) < 1e-5)
    }

    @Test("chunked logits (tiny memory budget) give the same log-probs and gradients")
    func chunkedHead() throws {
        let model = Self.makeModel()
        try Self.analyticGradients(model)
        let cached = model.gradients.array
        let cachedOutput = try model.forward(Self.batch).tokenLogProbs
        model.logitsMemoryBudget = 2 * 13 * 4  // two rows of logits at a time
        try Self.analyticGradients(model)
        #expect(relativeError(model.gradients.array, cached) < 1e-6)
        #expect(maximumAbsoluteDifference(try model.forward(Self.batch).tokenLogProbs, cachedOutput) < 1e-6)
    }

    @Test("training the top block only: frozen gradients stay zero, trained ones are exact")
    func partialTraining() throws {
        let model = Self.makeModel()
        try Self.analyticGradients(model)
        let full = model.gradients.array
        model.trainable = .topBlocks(1, of: 2)
        try Self.analyticGradients(model)
        let partial = model.gradients.array
        for entry in model.layout.entries {
            let range = entry.offset..<(entry.offset + entry.count)
            if model.isTrainable(entry) {
                #expect(relativeError(Array(partial[range]), Array(full[range])) < 1e-6, "\(entry.name)")
            } else {
                #expect(partial[range].allSatisfy { $0 == 0 }, "\(entry.name) should be frozen")
            }
        }
        #expect(!model.isTrainable(model.layout.entry(named: "model.layers.0.mlp.up_proj.weight")!))
        #expect(model.isTrainable(model.layout.entry(named: "model.layers.1.mlp.up_proj.weight")!))
        // Scalar head only (a reward-model probe on a frozen trunk).
        model.trainable = .none
        model.trainable.scalarHead = true
        try Self.analyticGradients(model)
        for entry in model.layout.entries {
            let range = entry.offset..<(entry.offset + entry.count)
            if entry.role == .scalarHeadWeight {
                #expect(relativeError(Array(model.gradients.array[range]), Array(full[range])) < 1e-6)
            } else {
                #expect(model.gradients.array[range].allSatisfy { $0 == 0 })
            }
        }
    }

    @Test("log-probs are normalised: Σ_v p(v) = 1 at every position")
    func logProbsNormalised() throws {
        let model = Self.makeModel()
        let logits = try model.logits(for: Self.batch)
        let V = 13
        for row in 0..<4 {  // row 4 is the last real token of row 0: it predicts nothing
            let slice = Array(logits[(row * V)..<((row + 1) * V)])
            let m = slice.max()!
            let total = slice.reduce(0.0) { $0 + Foundation.exp(Double($1 - m)) }
            let logSumExp = Double(m) + Foundation.log(total)
            let output = try model.forward(Self.batch).tokenLogProbs
            let target = Int(Self.batch.tokens[row + 1])
            #expect(abs(Double(slice[target]) - logSumExp - Double(output[row + 1])) < 1e-5)
        }
    }

    @Test("bad input gets a typed error")
    func errors() throws {
        let model = Self.makeModel()
        #expect(throws: LlamaError.tokenOutOfRange(row: 0, position: 1, token: 13, vocabularySize: 13)) {
            try model.forward(TokenBatch(rows: [[1, 13]]))
        }
        #expect(throws: LlamaError.sequenceTooLong(length: 17, maximum: 16)) {
            try model.forward(TokenBatch(rows: [Array(repeating: 1, count: 17)]))
        }
        #expect(throws: LlamaError.backwardWithoutForward) {
            _ = try model.forward(Self.batch)
            try model.backward(tokenLogProbGradients: [Float](repeating: 0, count: 10))
        }
        let noHead = Self.makeModel(scalarHead: false)
        #expect(throws: LlamaError.noScalarHead) { try noHead.forward(Self.batch, values: true) }
    }
}

