import Foundation

/// Per-position log-probabilities with the most likely alternatives, for `rlhf logprobs` and
/// outside checks (teacher forcing on one sequence).
public struct LogProbReport: Sendable {
    public struct Position: Sendable {
        public let id: Int
        /// log p(token | previous tokens); nil at position 0.
        public let logProb: Double?
        /// The `top` most likely next tokens after this position: (id, log-prob), best first.
        public let alternatives: [(id: Int, logProb: Double)]
    }

    public let positions: [Position]
    /// Σ of the log-probs (positions 1…).
    public var sequenceLogProb: Double { positions.reduce(0) { $0 + ($1.logProb ?? 0) } }
    /// The scalar head at the last token (a reward model's score), when the model has one.
    public let score: Double?
}

extension LlamaModel {
    /// The log-prob report of `tokens`: log-softmax of every position's logits in Double.
    public func logProbReport(tokens: [Int], top: Int) throws -> LogProbReport {
        let batch = TokenBatch(rows: [tokens])
        let output = try forward(batch, values: hasScalarHead)
        let logits = try self.logits(for: batch)
        let V = configuration.vocabularySize
        var positions = [LogProbReport.Position]()
        positions.reserveCapacity(tokens.count)
        for (t, id) in tokens.enumerated() {
            let row = logits[(t * V)..<((t + 1) * V)]
            let maximum = Double(row.max() ?? 0)
            let logSumExp = maximum + Foundation.log(row.reduce(0.0) { $0 + Foundation.exp(Double($1) - maximum) })
            let best = row.indices.sorted { row[$0] > row[$1] }.prefix(max(0, top))
            positions.append(LogProbReport.Position(
                id: id, logProb: t == 0 ? nil : Double(output.tokenLogProbs[t]),
                alternatives: best.map { (id: $0 - t * V, logProb: Double(row[$0]) - logSumExp) }))
        }
        return LogProbReport(positions: positions, score: hasScalarHead ? output.values.last.map(Double.init) : nil)
    }
}
