import RLHFTensor

/// Incremental inference with a ``KeyValueCache``: prompt prefill and token-by-token decoding are
/// the same operation — append some new tokens to each row and get the next-token logits.
extension LlamaModel {
    /// An empty cache sized for this model.
    public func makeCache(batchSize: Int, capacity: Int) -> KeyValueCache {
        KeyValueCache(configuration: configuration, batchSize: batchSize, capacity: capacity)
    }

    /// Appends `newTokens[b]` to row b of `cache` (rows may get different numbers of tokens, or
    /// none) and returns [B, V] logits of the token after each row's last new token (zeros for rows
    /// that got none). Attention for a new token at position p reads cached positions 0…p.
    public func extend(_ cache: KeyValueCache, with newTokens: [[Int]]) throws -> [Float] {
        Array(try extendInPlace(cache, with: newTokens))
    }

    /// ``extend(_:with:)`` returning a view of the cache's own [B, V] logits buffer (valid until the
    /// next call), so decoding loops neither allocate nor copy logits.
    func extendInPlace(_ cache: KeyValueCache, with newTokens: [[Int]]) throws -> UnsafeBufferPointer<Float> {
        let c = configuration
        let B = cache.batchSize, V = c.vocabularySize
        precondition(newTokens.count == B, "one token list per cache row")
        if cache.logits == nil { cache.logits = FloatBuffer(count: B * V) }
        let logits = cache.logits!
        logits.zero()
        let Tn = newTokens.map(\.count).max() ?? 0
        guard Tn > 0 else { return UnsafeBufferPointer(logits.buffer) }
        for b in 0..<B {
            let end = cache.lengths[b] + newTokens[b].count
            if end > min(cache.capacity, c.maximumSequenceLength) {
                throw LlamaError.sequenceTooLong(length: end, maximum: min(cache.capacity, c.maximumSequenceLength))
            }
            for (t, token) in newTokens[b].enumerated() where token < 0 || token >= V {
                throw LlamaError.tokenOutOfRange(row: b, position: cache.lengths[b] + t, token: token, vocabularySize: V)
            }
        }
        let N = B * Tn
        if cache.scratch == nil || cache.scratch!.rows < N { cache.scratch = DecodeScratch(configuration: c, rows: N) }
        let s = cache.scratch!
        for b in 0..<B {
            for t in 0..<Tn {
                s.tokens[b * Tn + t] = t < newTokens[b].count ? Int32(newTokens[b][t]) : 0
                s.positions[b * Tn + t] = Int32(cache.lengths[b] + min(t, max(0, newTokens[b].count - 1)))
            }
        }
        let newCounts = newTokens.map(\.count)
        let C = c.hiddenSize
        let P = parameters.pointer
        let x = s.residual.pointer, xn = s.normed.pointer, rstd = s.reciprocalRMS.pointer
        // One residual stream updated in place: middle and output are the input.
        let v = BlockBuffers(
            input: x, normed1: xn, rstd1: rstd, qkv: s.qkv.pointer, attentionOutput: s.attentionOutput.pointer,
            middle: x, normed2: xn, rstd2: rstd, gateUp: s.gateUp.pointer, activated: s.activated.pointer, output: x,
            samplingWeights: samplingWeights)
        let shape = AttentionShape(batchSize: B, sequenceLength: Tn, queryHeads: c.attentionHeadCount,
                                   keyValueHeads: c.keyValueHeadCount, headDimension: c.headDimension)
        Embedding.forward(tokens: s.tokens, table: P + layout.tokenEmbedding, output: x, rows: N, width: C)
        func capture() {
            for b in 0..<B where newCounts[b] > 0 {
                cache.capturedStates[b].append(contentsOf: UnsafeBufferPointer(start: x + b * Tn * C, count: newCounts[b] * C))
            }
        }
        for l in 0..<c.blockCount {
            if l == cache.captureBlock { capture() }
            // Attention over the cache, after appending the new tokens' keys and values to it.
            blockForward(l, v, rows: N, sequenceLength: Tn, positions: s.positions) { qkv, y in
                storeKeysAndValues(cache, layer: l, qkv: qkv, rowsPerSequence: Tn, newCounts: newCounts)
                let layer = cache.offset(block: l, row: 0, head: 0)
                DecodeAttention.forward(
                    queryKeyValue: qkv, keys: cache.keys.pointer + layer, values: cache.values.pointer + layer,
                    capacity: cache.capacity, starts: cache.lengths, newCounts: newCounts, shape: shape, output: y)
            }
        }
        if cache.captureBlock == c.blockCount { capture() }
        for b in 0..<B { cache.lengths[b] += newCounts[b] }
        // Final norm and head on each row's last new token only.
        let rows = (0..<B).filter { newCounts[$0] > 0 }
        if cache.headInputs == nil { cache.headInputs = FloatBuffer(count: B * C) }
        let last = cache.headInputs!
        for (j, b) in rows.enumerated() { (last.pointer + j * C).update(from: x + (b * Tn + newCounts[b] - 1) * C, count: C) }
        RMSNorm.forward(input: last.pointer, weight: P + layout.finalNorm, output: last.pointer, reciprocalRMS: s.reciprocalRMS.pointer,
                        rows: rows.count, width: C, epsilon: c.rmsNormEpsilon)
        if rows.count == B {
            // Every row advanced (the usual decoding step): write straight into the logits.
            project(last.pointer, weight: layout.outputHead, using: samplingWeights, into: logits.pointer, rows: B, inFeatures: C,
                    outFeatures: V)
        } else {
            if cache.headOutputs == nil { cache.headOutputs = FloatBuffer(count: B * V) }
            let out = cache.headOutputs!
            project(last.pointer, weight: layout.outputHead, using: samplingWeights, into: out.pointer, rows: rows.count,
                    inFeatures: C, outFeatures: V)
            for (j, b) in rows.enumerated() { (logits.pointer + b * V).update(from: out.pointer + j * V, count: V) }
        }
        return UnsafeBufferPointer(logits.buffer)
    }

    /// Copies the new rows' keys and values into the cache at their positions.
    private func storeKeysAndValues(_ cache: KeyValueCache, layer l: Int, qkv: UnsafePointer<Float>, rowsPerSequence Tn: Int,
                                    newCounts: [Int]) {
        let c = configuration
        let NH = c.attentionHeadCount, KVH = c.keyValueHeadCount, HS = c.headDimension
        let W = c.queryWidth + 2 * c.keyValueWidth
        for b in 0..<cache.batchSize {
            for t in 0..<newCounts[b] {
                let row = qkv + (b * Tn + t) * W
                let position = cache.lengths[b] + t
                for h in 0..<KVH {
                    let base = cache.offset(block: l, row: b, head: h) + position * HS
                    (cache.keys.pointer + base).update(from: row + (NH + h) * HS, count: HS)
                    (cache.values.pointer + base).update(from: row + (NH + KVH + h) * HS, count: HS)
                }
            }
        }
    }
}
