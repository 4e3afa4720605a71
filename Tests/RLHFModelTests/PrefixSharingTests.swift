import RLHFModel
import Testing
import _RLHFTestSupport

/// Teacher-forced passes on packed batches: padding gets no row and a prefix several rows share
/// is computed once (``SequencePacking``). Every output and gradient must equal the pass that
/// computes each row separately.
@Suite("Sequence packing and shared prefixes")
struct PrefixSharingTests {
    /// Rows 0, 1, 3 share the prompt [1, 5, 9] (row 3 also its next token with row 0); row 2 is
    /// alone; row 4 repeats row 1 entirely; row 5 shares only its first token with row 2.
    static let rows: [[Int]] = [[1, 5, 9, 3, 2, 7], [1, 5, 9, 4], [11, 2, 6, 8, 1], [1, 5, 9, 3, 12], [1, 5, 9, 4], [11, 3]]

    static func batch(logProbStart: Int32? = nil) -> TokenBatch {
        var batch = TokenBatch(rows: rows, paddingToken: 0)
        if let logProbStart { batch.logProbStarts = rows.map { _ in logProbStart } }
        return batch
    }

    @Test("the packing: one row per distinct prefix, keys before queries, balanced stripes")
    func packingLayout() {
        let batch = Self.batch()
        let packed = SequencePacking(batch, sharingPrefixes: true, heads: 2)
        // 6 + (4 − 3) + 5 + (5 − 4) + 0 + (2 − 1) distinct prefixes.
        #expect(packed.rowCount == 14)
        #expect(packed.sharesRows)
        let T = batch.sequenceLength
        for (b, row) in Self.rows.enumerated() {
            for t in 0..<T {
                let r = packed.rowOfPosition[b * T + t]
                if t >= row.count { #expect(r == -1); continue }
                // The row's sequence has the same tokens up to t, and the row sits at position t.
                let owner = Int(packed.owner[Int(r)])
                #expect(Int(packed.position[Int(r)]) == t)
                #expect(Array(Self.rows[owner][0...t]) == Array(row[0...t]))
                if t > 0 { #expect(packed.rowOfPosition[b * T + t - 1] < r) }
            }
        }
        #expect(packed.rowOfPosition[4 * T + 3] == packed.rowOfPosition[1 * T + 3])
        #expect(packed.rowOfPosition[3 * T + 3] == packed.rowOfPosition[0 * T + 3])
        #expect(packed.rowOfPosition[3 * T + 4] != packed.rowOfPosition[0 * T + 4])
        #expect(packed.probabilityCount == 2 * packed.position.reduce(0) { $0 + Int($1) + 1 })
        // Stripes cover every row once, in order, with about equal attention work.
        for count in [1, 2, 3, 5, 14, 40] {
            let stripes = packed.stripes(count)
            #expect(stripes.count == min(count, 14) || count > 3)
            #expect(stripes.first?.lowerBound == 0 && stripes.last?.upperBound == 14)
            #expect(zip(stripes, stripes.dropFirst()).allSatisfy { $0.upperBound == $1.lowerBound && !$0.isEmpty })
        }
        let halves = packed.stripes(2).map { $0.reduce(0) { $0 + Int(packed.position[$1]) + 1 } }
        #expect(abs(halves[0] - halves[1]) <= 6)

        let unshared = SequencePacking(batch, sharingPrefixes: false, heads: 2)
        #expect(unshared.rowCount == batch.tokenCount && !unshared.sharesRows)
    }

    /// The finite-difference suite's model: large random weights, grouped-query attention, partial
    /// rotary dimensions, a scalar head.
    static func model(tied: Bool = false) -> LlamaModel { ModelGradientTests.makeModel(tied: tied) }

    /// Log-probs, values and every gradient with and without prefix sharing.
    static func compare(_ model: LlamaModel, batch: TokenBatch) throws {
        var results: [(logProbs: [Float], values: [Float], gradients: [Float])] = []
        let dLogProbs = randomFloats(batch.batchSize * batch.sequenceLength, seed: 3)
        let dValues = randomFloats(batch.batchSize * batch.sequenceLength, seed: 4)
        for sharing in [false, true] {
            model.sharesPrefixes = sharing
            let output = try model.forward(batch, values: true, retainForBackward: true)
            model.zeroGradients()
            try model.backward(tokenLogProbGradients: dLogProbs, valueGradients: dValues)
            results.append((output.tokenLogProbs, output.values, model.gradients.array))
        }
        #expect(maximumAbsoluteDifference(results[0].logProbs, results[1].logProbs) < 1e-5)
        #expect(maximumAbsoluteDifference(results[0].values, results[1].values) < 1e-5)
        #expect(relativeError(results[1].gradients, results[0].gradients) < 1e-5)
        // Padding stays zero in the outputs.
        let T = batch.sequenceLength
        for b in 0..<batch.batchSize {
            for t in Int(batch.lengths[b])..<T {
                #expect(results[1].logProbs[b * T + t] == 0 && results[1].values[b * T + t] == 0)
            }
        }
    }

    @Test("shared prefixes: same log-probs, values and gradients as separate rows", arguments: [false, true])
    func sharedEqualsSeparate(tied: Bool) throws {
        let model = Self.model(tied: tied)
        try Self.compare(model, batch: Self.batch())
        // Scored from the shared prompt's last token on, as rollouts are: one head row predicts
        // different next tokens for different rows.
        try Self.compare(model, batch: Self.batch(logProbStart: 3))
    }

    @Test("from frozen-trunk states, and the full logits and hidden states")
    func sharedFromStatesAndLogits() throws {
        let model = Self.model()
        model.trainable = .topBlocks(1, of: 2)
        let batch = Self.batch(logProbStart: 3)
        model.sharesPrefixes = false
        let states = try model.trunkStates(for: batch, enteringBlock: 1)
        let separateLogits = try model.logits(for: batch), separateHidden = try model.hiddenStates(for: batch)
        model.sharesPrefixes = true
        let sharedStates = try model.trunkStates(for: batch, enteringBlock: 1)
        for b in 0..<batch.batchSize { #expect(maximumAbsoluteDifference(states.rows[b], sharedStates.rows[b]) < 1e-5) }
        #expect(maximumAbsoluteDifference(try model.logits(for: batch), separateLogits) < 1e-5)
        #expect(maximumAbsoluteDifference(try model.hiddenStates(for: batch), separateHidden) < 1e-5)

        var outputs: [[Float]] = [], gradients: [[Float]] = []
        let g = randomFloats(batch.batchSize * batch.sequenceLength, seed: 8)
        for sharing in [false, true] {
            model.sharesPrefixes = sharing
            outputs.append(try model.forward(batch, from: states, retainForBackward: true).tokenLogProbs)
            model.zeroGradients()
            try model.backward(tokenLogProbGradients: g)
            gradients.append(model.gradients.array)
        }
        #expect(maximumAbsoluteDifference(outputs[0], outputs[1]) < 1e-5)
        #expect(relativeError(gradients[1], gradients[0]) < 1e-5)
    }

    @Test("a smaller batch after a larger one reuses the storage and gives the same results as a fresh model")
    func storageReuse() throws {
        let model = Self.model(), fresh = Self.model()
        _ = try model.forward(Self.batch(), retainForBackward: true)
        let small = TokenBatch(rows: [[3, 4, 5], [3, 4]], paddingToken: 0)
        let reused = try model.forward(small, retainForBackward: true)
        let g = randomFloats(small.batchSize * small.sequenceLength, seed: 9)
        model.zeroGradients()
        try model.backward(tokenLogProbGradients: g)
        let expected = try fresh.forward(small, retainForBackward: true)
        fresh.zeroGradients()
        try fresh.backward(tokenLogProbGradients: g)
        #expect(reused.tokenLogProbs == expected.tokenLogProbs)
        #expect(model.gradients.array == fresh.gradients.array)
    }
}
