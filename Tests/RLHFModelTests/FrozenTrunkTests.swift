import RLHFModel
import Testing
import _RLHFTestSupport

/// Forward passes that start at a block from given states, as trainers run them on a frozen trunk.
@Suite("Forward from frozen-trunk states")
struct FrozenTrunkTests {
    static let configuration = LlamaConfiguration(
        vocabularySize: 13, hiddenSize: 16, intermediateSize: 24, blockCount: 3, attentionHeadCount: 4, keyValueHeadCount: 2,
        maximumSequenceLength: 16)
    static let batch = TokenBatch(rows: [[1, 5, 9, 3, 2], [4, 4, 7], [11, 2, 6, 8]], paddingToken: 0)

    @Test("outputs and gradients equal the full pass; states of a row do not depend on its batch")
    func equalsFullForward() throws {
        let model = LlamaModel(configuration: Self.configuration, scalarHead: true, seed: 5)
        model.trainable = .topBlocks(1, of: 3)
        let full = try model.forward(Self.batch, values: true, retainForBackward: true)
        let dLogProbs = randomFloats(full.tokenLogProbs.count, seed: 1), dValues = randomFloats(full.values.count, seed: 2)
        model.zeroGradients()
        try model.backward(tokenLogProbGradients: dLogProbs, valueGradients: dValues)
        let fullGradients = model.gradients.array

        let states = try model.trunkStates(for: Self.batch, enteringBlock: 2)
        #expect(states.rows.map(\.count) == [5 * 16, 3 * 16, 4 * 16])
        // One row alone gives the same states as in the batch (to rounding).
        let alone = try model.trunkStates(for: TokenBatch(rows: [[4, 4, 7]]), enteringBlock: 2)
        #expect(maximumAbsoluteDifference(alone.rows[0], states.rows[1]) < 1e-5)

        let partial = try model.forward(Self.batch, from: states, values: true, retainForBackward: true)
        #expect(maximumAbsoluteDifference(partial.tokenLogProbs, full.tokenLogProbs) < 1e-5)
        #expect(maximumAbsoluteDifference(partial.values, full.values) < 1e-5)
        model.zeroGradients()
        try model.backward(tokenLogProbGradients: dLogProbs, valueGradients: dValues)
        #expect(relativeError(model.gradients.array, fullGradients) < 1e-5)
        // Reordered rows with their states: same per-row outputs.
        let reordered = TokenBatch(rows: [[11, 2, 6, 8], [1, 5, 9, 3, 2]], paddingToken: 0)
        let values = try model.forward(reordered, from: states.rows([2, 0]), values: true).values
        #expect(abs(values[3] - full.values[2 * 5 + 3]) < 1e-5 && abs(values[5 + 4] - full.values[4]) < 1e-5)
    }

    @Test("backward below the start block is refused; a full forward afterwards trains every block again")
    func refusesToReachBelow() throws {
        let model = LlamaModel(configuration: Self.configuration, seed: 5)
        model.trainable = .topBlocks(2, of: 3)
        let states = try model.trunkStates(for: Self.batch, enteringBlock: 2)
        let output = try model.forward(Self.batch, from: states, retainForBackward: true)
        #expect(throws: LlamaError.backwardBelowStartBlock(lowestTrainable: 1, startBlock: 2)) {
            try model.backward(tokenLogProbGradients: output.tokenLogProbs.map { _ in 1 })
        }
        let again = try model.forward(Self.batch, retainForBackward: true)
        try model.backward(tokenLogProbGradients: again.tokenLogProbs.map { _ in 1 })
    }
}
