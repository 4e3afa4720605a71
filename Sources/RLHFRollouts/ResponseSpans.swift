import RLHFModel

/// The one bridge between per-response arrays and the model's [B, T] layout.
///
/// Row b is `prompts[b] + responses[b]`, right-padded. Response token i of row b sits at position
/// `promptLengths[b] + i`; the model's `tokenLogProbs[b, t]` is log p(token t | tokens < t), so a
/// response token's log-prob is read at its own position (the engine owns the shift to the logits
/// row t − 1). Everything is selected by position, never by token id: SmolLM2's padding token is
/// also its EOS, and an EOS that ends a response must count. The batch asks for log-probs from
/// each prompt's end on (``TokenBatch/logProbStarts``): prompt positions cost no head projection.
public struct ResponseSpans: Sendable {
    public let batch: TokenBatch
    public let promptLengths: [Int]
    public let responseLengths: [Int]

    /// Packs prompt + response rows. Every row must have at least one token.
    public init(prompts: [[Int]], responses: [[Int]], paddingToken: Int) {
        precondition(prompts.count == responses.count, "one response per prompt row")
        let rows = zip(prompts, responses).map { $0 + $1 }
        precondition(rows.allSatisfy { !$0.isEmpty }, "an empty row")
        var batch = TokenBatch(rows: rows, paddingToken: paddingToken)
        // Log-probs (and the vocabulary projection) only where responses are.
        batch.logProbStarts = prompts.map { Int32($0.count) }
        self.batch = batch
        promptLengths = prompts.map(\.count)
        responseLengths = responses.map(\.count)
    }

    /// Packs prompt + response rows with `endToken` appended to each response that does not
    /// already end with it (a reward model reads its score there); nil appends nothing.
    public init(prompts: [[Int]], responses: [[Int]], paddingToken: Int, endToken: Int?) {
        self.init(prompts: prompts, responses: responses.map { response in
            guard let endToken, response.last != endToken else { return response }
            return response + [endToken]
        }, paddingToken: paddingToken)
    }

    public var count: Int { promptLengths.count }

    /// Flat index of response token i of row b in a [B, T] array.
    @inline(__always) func index(row b: Int, token i: Int) -> Int { b * batch.sequenceLength + promptLengths[b] + i }

    /// Per-response values of a [B, T] array (e.g. token log-probs): row b's response tokens.
    public func gather(_ perPosition: [Float]) -> [[Float]] {
        precondition(perPosition.count == batch.batchSize * batch.sequenceLength, "expected a [B, T] array")
        return (0..<count).map { b in (0..<responseLengths[b]).map { perPosition[index(row: b, token: $0)] } }
    }

    /// Per-response values of a [B, T] array read one position *before* each response token: the
    /// state that predicts the token (a PPO value V(x, y_<t)). Row b's response token i reads
    /// position `promptLengths[b] + i − 1`, so every prompt must be non-empty.
    public func gatherPreceding(_ perPosition: [Float]) -> [[Float]] {
        precondition(perPosition.count == batch.batchSize * batch.sequenceLength, "expected a [B, T] array")
        precondition(promptLengths.allSatisfy { $0 > 0 }, "a value before the first response token needs a prompt")
        return (0..<count).map { b in (0..<responseLengths[b]).map { perPosition[index(row: b, token: $0) - 1] } }
    }

    /// The [B, T] gradient of ``gatherPreceding(_:)``: per-response-token values placed one
    /// position before each response token, 0 elsewhere.
    public func scatterPreceding(_ perToken: [[Float]]) -> [Float] {
        precondition(perToken.count == count, "one array per row")
        var out = [Float](repeating: 0, count: batch.batchSize * batch.sequenceLength)
        for b in 0..<count {
            precondition(perToken[b].count == responseLengths[b], "row \(b): one value per response token")
            precondition(promptLengths[b] > 0, "a value before the first response token needs a prompt")
            for i in 0..<responseLengths[b] { out[index(row: b, token: i) - 1] = perToken[b][i] }
        }
        return out
    }

    /// Σ over each response's tokens of a [B, T] array, in Double (sequence log-probs).
    /// A response token at position 0 (an empty prompt) has no prediction and contributes 0.
    public func sequenceSums(_ perPosition: [Float]) -> [Double] {
        precondition(perPosition.count == batch.batchSize * batch.sequenceLength, "expected a [B, T] array")
        return (0..<count).map { b in
            var sum = 0.0
            for i in 0..<responseLengths[b] { sum += Double(perPosition[index(row: b, token: i)]) }
            return sum
        }
    }

    /// The value at each row's last real position (a reward model's score).
    public func last(_ perPosition: [Float]) -> [Float] {
        precondition(perPosition.count == batch.batchSize * batch.sequenceLength, "expected a [B, T] array")
        return (0..<count).map { b in perPosition[b * batch.sequenceLength + Int(batch.lengths[b]) - 1] }
    }

    /// A [B, T] gradient that is `perSequence[b]` at row b's last real position, 0 elsewhere
    /// (for `backward(valueGradients:)`).
    public func scatterLast(_ perSequence: [Float]) -> [Float] {
        precondition(perSequence.count == count, "one value per row")
        var out = [Float](repeating: 0, count: batch.batchSize * batch.sequenceLength)
        for b in 0..<count { out[b * batch.sequenceLength + Int(batch.lengths[b]) - 1] = perSequence[b] }
        return out
    }

    /// A [B, T] gradient that broadcasts ∂L/∂(Σ log p of row b's response) to each of its tokens.
    public func scatter(sequenceGradient: [Float]) -> [Float] {
        precondition(sequenceGradient.count == count, "one value per row")
        var out = [Float](repeating: 0, count: batch.batchSize * batch.sequenceLength)
        for b in 0..<count { for i in 0..<responseLengths[b] { out[index(row: b, token: i)] = sequenceGradient[b] } }
        return out
    }

    /// A [B, T] gradient from per-response-token values.
    public func scatter(_ perToken: [[Float]]) -> [Float] {
        precondition(perToken.count == count, "one array per row")
        var out = [Float](repeating: 0, count: batch.batchSize * batch.sequenceLength)
        for b in 0..<count {
            precondition(perToken[b].count == responseLengths[b], "row \(b): one value per response token")
            for i in 0..<responseLengths[b] { out[index(row: b, token: i)] = perToken[b][i] }
        }
        return out
    }
}
