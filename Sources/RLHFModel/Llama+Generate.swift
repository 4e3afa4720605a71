import RLHFTensor

/// Why a row stopped generating.
public enum FinishReason: String, Sendable, Codable {
    /// It produced one of the stop token ids (e.g. EOS).
    case stopToken
    /// The caller's stop condition (e.g. a stop string) matched.
    case stopCondition
    /// It reached the token limit.
    case length
}

/// The output of ``LlamaModel/generate(prompts:parameters:stopCondition:onToken:)``, one entry per prompt.
public struct GenerationResult: Sendable {
    /// New tokens of each row (a final stop token included).
    public var tokens: [[Int]]
    /// log q(token) under the sampling distribution, per new token.
    public var samplingLogProbs: [[Float]]
    /// log p(token) under the model at temperature 1, per new token (what RLHF losses use).
    public var modelLogProbs: [[Float]]
    public var finishReasons: [FinishReason]
    /// With `captureStatesEnteringBlock`, per row the residual stream entering that block at every
    /// position of prompt + response ([positions, C]); the last response token is never fed back,
    /// so its position holds zeros (it predicts nothing a trainer reads). Nil while the model
    /// samples from quantized weights (``LlamaModel/quantizeForSampling(_:)``): those states are not
    /// the float model's, so a trainer computes its own.
    public var trunkStates: [[Float]]?
}

extension LlamaModel {
    /// Samples continuations of `prompts` (of any lengths) in one batch with a KV cache.
    ///
    /// - Parameters:
    ///   - stopCondition: called after each new token with (row, its new tokens so far); returning
    ///     true ends that row (used for stop strings).
    ///   - onToken: called with (row, token) as tokens are produced (streaming).
    ///   - rowSeeds: one seed per row, so that a row's samples depend only on its own seed (a
    ///     rollout derives it from the run seed, the prompt and the sample index, never from the
    ///     batch a row lands in). Nil: row b's seed is derived from `parameters.seed` and b.
    public func generate(
        prompts: [[Int]], parameters: SamplingParameters,
        stopCondition: ((Int, [Int]) -> Bool)? = nil, onToken: ((Int, Int) -> Void)? = nil, rowSeeds: [UInt64]? = nil,
        captureStatesEnteringBlock captureBlock: Int? = nil
    ) throws -> GenerationResult {
        precondition(captureBlock.map { (0...configuration.blockCount).contains($0) } ?? true, "capture block out of range")
        // States computed with quantized weights are not the float model's: none are kept.
        let captureBlock = samplingWeights == nil ? captureBlock : nil
        let B = prompts.count, V = configuration.vocabularySize
        precondition(prompts.allSatisfy { !$0.isEmpty }, "every prompt needs at least one token")
        let capacity = min(configuration.maximumSequenceLength, (prompts.map(\.count).max() ?? 0) + parameters.maximumNewTokens)
        let cache = makeCache(batchSize: B, capacity: capacity)
        cache.captureBlock = captureBlock
        precondition(rowSeeds == nil || rowSeeds?.count == B, "one seed per row")
        var generators = (0..<B).map { row -> SeededGenerator in
            if let rowSeeds { return SeededGenerator(seed: rowSeeds[row]) }
            var mixer = SeededGenerator(seed: parameters.seed)
            for _ in 0..<row { _ = mixer.next() }
            return SeededGenerator(seed: mixer.next() ^ UInt64(row))
        }
        var result = GenerationResult(
            tokens: Array(repeating: [], count: B), samplingLogProbs: Array(repeating: [], count: B),
            modelLogProbs: Array(repeating: [], count: B), finishReasons: Array(repeating: .length, count: B))
        var active = Array(repeating: parameters.maximumNewTokens > 0, count: B)
        let scratch = FloatBuffer(count: 2 * V * B)
        var logits = try prefill(cache, with: prompts)
        var draws = [TokenSampler.Draw](repeating: TokenSampler.Draw(token: 0, samplingLogProb: 0, modelLogProb: 0), count: B)
        while active.contains(true) {
            // Draw for every active row in parallel (each row has its own generator and scratch).
            do {
                let logitsBuffer = logits
                draws.withUnsafeMutableBufferPointer { drawBuffer in
                    generators.withUnsafeMutableBufferPointer { generatorBuffer in
                        nonisolated(unsafe) let logitsBase = logitsBuffer.baseAddress!, drawBase = drawBuffer.baseAddress!
                        nonisolated(unsafe) let generatorBase = generatorBuffer.baseAddress!
                        let rows = (0..<B).filter { active[$0] }
                        Parallel.forEachChunk(count: rows.count) { range in
                            for index in range {
                                let b = rows[index]
                                drawBase[b] = TokenSampler.draw(
                                    logitsBase + b * V, count: V, parameters: parameters, generator: &generatorBase[b],
                                    scratch: scratch.pointer + 2 * V * b)
                            }
                        }
                    }
                }
            }
            var next = Array(repeating: [Int](), count: B)
            for b in 0..<B where active[b] {
                let draw = draws[b]
                result.tokens[b].append(draw.token)
                result.samplingLogProbs[b].append(draw.samplingLogProb)
                result.modelLogProbs[b].append(draw.modelLogProb)
                onToken?(b, draw.token)
                if parameters.stopTokenIds.contains(draw.token) {
                    result.finishReasons[b] = .stopToken
                    active[b] = false
                } else if stopCondition?(b, result.tokens[b]) == true {
                    result.finishReasons[b] = .stopCondition
                    active[b] = false
                } else if result.tokens[b].count >= parameters.maximumNewTokens || cache.lengths[b] >= capacity {
                    active[b] = false
                } else {
                    next[b] = [draw.token]
                }
            }
            guard active.contains(true) else { break }
            logits = try extendInPlace(cache, with: next)
        }
        if captureBlock != nil {
            let C = configuration.hiddenSize
            result.trunkStates = (0..<B).map { b in
                var states = cache.capturedStates[b]
                let positions = prompts[b].count + result.tokens[b].count
                precondition(states.count <= positions * C, "captured more positions than the row holds")
                states += [Float](repeating: 0, count: positions * C - states.count)
                return states
            }
        }
        return result
    }

    /// Prefills `cache` with `prompts` and returns the next-token logits, running each distinct
    /// prompt once: rows that share a prompt (k samples per prompt, as every RL trainer draws) get
    /// copies of its keys, values, captured states and logits.
    func prefill(_ cache: KeyValueCache, with prompts: [[Int]]) throws -> UnsafeBufferPointer<Float> {
        var firstRow = [[Int]: Int](), distinct = [Int](), source = [Int]()
        for (b, prompt) in prompts.enumerated() {
            if let u = firstRow[prompt] { source.append(u); continue }
            firstRow[prompt] = distinct.count
            source.append(distinct.count)
            distinct.append(b)
        }
        guard distinct.count < prompts.count else { return try extendInPlace(cache, with: prompts) }
        let once = makeCache(batchSize: distinct.count, capacity: cache.capacity)
        once.captureBlock = cache.captureBlock
        let distinctLogits = try extendInPlace(once, with: distinct.map { prompts[$0] })
        let V = configuration.vocabularySize
        if cache.logits == nil { cache.logits = FloatBuffer(count: cache.batchSize * V) }
        let logits = cache.logits!
        for (b, u) in source.enumerated() {
            cache.copyRow(u, of: once, to: b)
            (logits.pointer + b * V).update(from: distinctLogits.baseAddress! + u * V, count: V)
        }
        return UnsafeBufferPointer(logits.buffer)
    }
}
