import CRLHFKernels
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
        let C = c.hiddenSize, F = c.intermediateSize, NH = c.attentionHeadCount, KVH = c.keyValueHeadCount
        let HS = c.headDimension, W = c.queryWidth + 2 * c.keyValueWidth, Y = c.queryWidth
        let P = parameters.pointer
        let x = s.residual.pointer, xn = s.normed.pointer, qkv = s.qkv.pointer
        Embedding.forward(tokens: s.tokens, table: P + layout.tokenEmbedding, output: x, rows: N, width: C)
        for l in 0..<c.blockCount {
            let o = layout.blocks[l]
            RMSNorm.forward(input: x, weight: P + o.attentionNorm, output: xn, reciprocalRMS: s.reciprocalRMS.pointer,
                            rows: N, width: C, epsilon: c.rmsNormEpsilon)
            linear(xn, weight: P + o.queryKeyValue, into: qkv, rows: N, inFeatures: C, outFeatures: W)
            rotary.apply(qkv, rows: N, sequenceLength: Tn, width: W, column: 0, heads: NH, headDimension: HS, positions: s.positions)
            rotary.apply(qkv, rows: N, sequenceLength: Tn, width: W, column: NH * HS, heads: KVH, headDimension: HS,
                         positions: s.positions)
            storeKeysAndValues(cache, layer: l, qkv: qkv, rowsPerSequence: Tn, newCounts: newCounts)
            cachedAttention(cache, layer: l, qkv: qkv, output: s.attentionOutput.pointer, rowsPerSequence: Tn, newCounts: newCounts)
            linear(s.attentionOutput.pointer, weight: P + o.attentionOutput, into: x, rows: N, inFeatures: Y, outFeatures: C,
                   accumulate: true)
            RMSNorm.forward(input: x, weight: P + o.mlpNorm, output: xn, reciprocalRMS: s.reciprocalRMS.pointer,
                            rows: N, width: C, epsilon: c.rmsNormEpsilon)
            linear(xn, weight: P + o.gateUp, into: s.gateUp.pointer, rows: N, inFeatures: C, outFeatures: 2 * F)
            SwiGLU.forward(gateUp: s.gateUp.pointer, output: s.activated.pointer, rows: N, width: F)
            linear(s.activated.pointer, weight: P + o.down, into: x, rows: N, inFeatures: F, outFeatures: C, accumulate: true)
        }
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
            linear(last.pointer, weight: P + layout.outputHead, into: logits.pointer, rows: B, inFeatures: C, outFeatures: V)
        } else {
            if cache.headOutputs == nil { cache.headOutputs = FloatBuffer(count: B * V) }
            let out = cache.headOutputs!
            linear(last.pointer, weight: P + layout.outputHead, into: out.pointer, rows: rows.count, inFeatures: C, outFeatures: V)
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

    /// Causal attention of every new token over its row's cached keys and values (which already
    /// include the new tokens). Writes [N, NH·HS]; padded rows get zeros.
    private func cachedAttention(_ cache: KeyValueCache, layer l: Int, qkv: UnsafePointer<Float>,
                                 output: UnsafeMutablePointer<Float>, rowsPerSequence Tn: Int, newCounts: [Int]) {
        let c = configuration
        let NH = c.attentionHeadCount, HS = c.headDimension, group = NH / c.keyValueHeadCount
        let W = c.queryWidth + 2 * c.keyValueWidth, Y = c.queryWidth
        let scale = 1 / Float(HS).squareRoot()
        nonisolated(unsafe) let qkv = qkv, output = output
        let starts = cache.lengths, capacity = cache.capacity, KVH = c.keyValueHeadCount
        // AVX2 kernel where the CPU has it (query heads of a group are adjacent in qkv and output).
        let useKernel = SmallBatchGEMM.isAvailable && HS % 8 == 0
        // One task per (row, KV head): each cached key/value row is loaded once for its query heads.
        Parallel.forEach(count: cache.batchSize * KVH) { task in
            let b = task / KVH, kvh = task % KVH
            let keys = cache.keys.pointer + cache.offset(block: l, row: b, head: kvh)
            let values = cache.values.pointer + cache.offset(block: l, row: b, head: kvh)
            withUnsafeTemporaryAllocation(of: Float.self, capacity: capacity * group) { scratch in
                let p = scratch.baseAddress!
                for t in 0..<Tn {
                    for h in (kvh * group)..<((kvh + 1) * group) {
                        (output + (b * Tn + t) * Y + h * HS).update(repeating: 0, count: HS)
                    }
                    guard t < newCounts[b] else { continue }
                    let position = starts[b] + t
                    let count = position + 1
                    if useKernel {
                        rlhf_attention_decode(
                            Int32(group), Int32(HS), Int32(count), scale, qkv + (b * Tn + t) * W + kvh * group * HS, Int32(HS),
                            keys, values, p, output + (b * Tn + t) * Y + kvh * group * HS, Int32(HS))
                        continue
                    }
                    for g in 0..<group {
                        let q = qkv + (b * Tn + t) * W + (kvh * group + g) * HS
                        let scores = p + g * capacity
                        var maximum = -Float.infinity
                        for s in 0..<count {
                            let score = VectorMath.dot(q, keys + s * HS, count: HS) * scale
                            scores[s] = score
                            maximum = max(maximum, score)
                        }
                        let inverse = 1 / VectorMath.expShifted(scores, shift: maximum, into: scores, count: count)
                        for s in 0..<count { scores[s] *= inverse }
                    }
                    for s in 0..<count {
                        let value = values + s * HS
                        for g in 0..<group {
                            VectorMath.addScaled(value, scale: p[g * capacity + s], to: output + (b * Tn + t) * Y + (kvh * group + g) * HS, count: HS)
                        }
                    }
                }
            }
        }
    }
}
