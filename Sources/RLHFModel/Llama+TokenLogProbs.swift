import RLHFTensor

/// The central RLHF primitive: per-token log-probabilities of given continuations under the model
/// (teacher forcing), and their backward.
///
/// Logits are produced in row chunks: at most ``LlamaModel/logitsMemoryBudget`` bytes of
/// [rows, V] logits exist at once. When every needed row fits, forward keeps them and backward
/// reuses them; otherwise backward recomputes each chunk. Only rows that predict a real token are
/// computed, and backward only touches rows whose log-prob has a non-zero gradient (prompt tokens
/// and padding cost nothing).
extension LlamaModel {
    /// Finds the rows whose logits predict a scored real token (position t of sequence b scores
    /// token t + 1, from its first scored position on) and the tokens each predicts, into the
    /// storage's head tables.
    private func collectHeadTargets(_ s: ActivationStorage) {
        let T = s.sequenceLength, map = s.packing.rowOfPosition
        // The scored positions (b, t) in order; a row's index into headRows on its first appearance.
        var scored = [Int](), indexOfRow = [Int32](repeating: -1, count: s.rows), rows = [Int]()
        for b in 0..<s.batchSize {
            let length = Int(s.lengths[b])
            // The first scored position p is predicted by p − 1.
            let first = max(0, Int(s.logProbStarts?[b] ?? 1) - 1)
            guard length - 1 > first else { continue }
            for t in first..<(length - 1) {
                let row = Int(map[b * T + t])
                if indexOfRow[row] < 0 { indexOfRow[row] = Int32(rows.count); rows.append(row) }
                scored.append(b * T + t)
            }
        }
        // Group the targets by head row (a counting sort, stable within a row).
        var starts = [Int32](repeating: 0, count: rows.count + 1)
        for p in scored { starts[Int(indexOfRow[Int(map[p])]) + 1] += 1 }
        for i in 0..<rows.count { starts[i + 1] += starts[i] }
        var next = starts, positions = [Int32](repeating: 0, count: scored.count), tokens = positions
        for p in scored {
            let i = Int(indexOfRow[Int(map[p])]), k = Int(next[i])
            positions[k] = Int32(p + 1)
            tokens[k] = s.batchTokens[p + 1]
            next[i] += 1
        }
        s.headRows = rows
        s.headTargetStarts = starts
        s.headTargetPositions = positions
        s.headTargetTokens = tokens
    }

    /// A logits block of at least `logitFloats` floats, kept by the model between passes (one for
    /// retained passes, whose block backward reads, one for inference passes), so that a training
    /// loop does not map and fault in hundreds of megabytes of fresh memory every step.
    private func headScratch(_ s: ActivationStorage, logitFloats count: Int) -> FloatBuffer {
        if let existing = s.retained ? retainedLogitsScratch : inferenceLogitsScratch, existing.count >= count { return existing }
        if s.retained { retainedLogitsScratch = nil } else { inferenceLogitsScratch = nil }
        let buffer = FloatBuffer(count: count)
        if s.retained { retainedLogitsScratch = buffer } else { inferenceLogitsScratch = buffer }
        return buffer
    }

    private var logitsChunkRows: Int {
        max(1, logitsMemoryBudget / (configuration.vocabularySize * MemoryLayout<Float>.stride))
    }

    /// Copies rows `rows[i]` of a [*, C] matrix into consecutive rows of `destination`.
    private func gather(
        _ source: UnsafePointer<Float>, rows: ArraySlice<Int>, width C: Int, into destination: UnsafeMutablePointer<Float>
    ) {
        for (j, row) in rows.enumerated() { (destination + j * C).update(from: source + row * C, count: C) }
    }

    /// Computes log p(token t + 1 | tokens ≤ t) for every scored position; returns them laid out [B, T].
    func headForward(_ s: ActivationStorage) -> [Float] {
        let V = configuration.vocabularySize, C = configuration.hiddenSize
        collectHeadTargets(s)
        let rows = s.headRows
        s.headLogSumExp = [Float](repeating: 0, count: rows.count)
        var result = [Float](repeating: 0, count: s.batchSize * s.sequenceLength)
        guard !rows.isEmpty else { s.cachedLogits = nil; return result }
        // Inference passes keep nothing for backward: they go through the rows in cache-sized
        // chunks. Retained passes keep every row's logits when they fit the budget.
        let chunk = min(rows.count, s.retained ? logitsChunkRows : min(logitsChunkRows, 512))
        let cached = s.retained && chunk == rows.count
        let logits = headScratch(s, logitFloats: (cached ? rows.count : chunk) * V)
        s.cachedLogits = cached ? logits : nil
        let inputs = FloatBuffer(count: chunk * C)
        let head = parameters.pointer + layout.outputHead
        result.withUnsafeMutableBufferPointer { resultBuffer in
            s.headLogSumExp.withUnsafeMutableBufferPointer { lseBuffer in
                s.withHeadTargets { targets in
                    nonisolated(unsafe) let out = resultBuffer.baseAddress!, lse = lseBuffer.baseAddress!
                    for start in stride(from: 0, to: rows.count, by: chunk) {
                        let n = min(chunk, rows.count - start)
                        gather(s.finalNormed.pointer, rows: rows[start..<(start + n)], width: C, into: inputs.pointer)
                        nonisolated(unsafe) let block = cached ? logits.pointer + start * V : logits.pointer
                        linear(inputs.pointer, weight: head, into: block, rows: n, inFeatures: C, outFeatures: V)
                        Parallel.forEachChunk(count: n, minimumChunk: 4) { range in
                            for j in range {
                                let rowLogits = block + j * V
                                let logSumExp = VectorMath.logSumExp(rowLogits, count: V)
                                lse[start + j] = logSumExp
                                for k in Int(targets.starts[start + j])..<Int(targets.starts[start + j + 1]) {
                                    out[Int(targets.positions[k])] = rowLogits[Int(targets.tokens[k])] - logSumExp
                                }
                            }
                        }
                    }
                }
            }
        }
        return result
    }

    /// Accumulates ∂L/∂(final hidden) into `dHidden` [B·T, C] and, when the head trains, ∂L/∂W_head,
    /// from g[b, t] = ∂L/∂ log p(token t). Since log p = logit[target] − logsumexp(logits),
    /// ∂ log p/∂ logit_v = 1[v = target] − softmax_v, so dlogits = g · (onehot − softmax).
    func headBackward(_ s: ActivationStorage, gradients g: UnsafePointer<Float>, hiddenGradient dHidden: UnsafeMutablePointer<Float>) {
        let V = configuration.vocabularySize, C = configuration.hiddenSize
        let allRows = s.headRows
        // Indices into headRows with a non-zero gradient at some position they score.
        let active = allRows.indices.filter { i in
            (Int(s.headTargetStarts[i])..<Int(s.headTargetStarts[i + 1])).contains { g[Int(s.headTargetPositions[$0])] != 0 }
        }
        guard !active.isEmpty else { return }
        let cachedLogits = s.cachedLogits
        let chunk = cachedLogits != nil ? active.count : min(active.count, logitsChunkRows)
        let logits: FloatBuffer
        if let cachedLogits {
            // Compact the cached rows we need to the front (indices only move forward: in place is safe).
            for (j, index) in active.enumerated() where j != index {
                (cachedLogits.pointer + j * V).update(from: cachedLogits.pointer + index * V, count: V)
            }
            logits = cachedLogits
        } else {
            logits = headScratch(s, logitFloats: chunk * V)
        }
        s.cachedLogits = nil  // consumed: overwritten with dlogits below
        let inputs = FloatBuffer(count: chunk * C)
        let inputGradients = FloatBuffer(count: chunk * C)
        let head = parameters.pointer + layout.outputHead
        let headTrains = configuration.tiedEmbeddings ? trainable.tokenEmbedding : trainable.outputHead
        let headGradient: UnsafeMutablePointer<Float>? = headTrains ? gradients.pointer + layout.outputHead : nil
        nonisolated(unsafe) let g = g
        s.headLogSumExp.withUnsafeBufferPointer { lseBuffer in
            active.withUnsafeBufferPointer { activeBuffer in
                s.withHeadTargets { targets in
                    nonisolated(unsafe) let lse = lseBuffer.baseAddress!, activeList = activeBuffer.baseAddress!
                    for start in stride(from: 0, to: active.count, by: chunk) {
                        let n = min(chunk, active.count - start)
                        let rows = active[start..<(start + n)].map { allRows[$0] }
                        gather(s.finalNormed.pointer, rows: rows[...], width: C, into: inputs.pointer)
                        nonisolated(unsafe) let block = cachedLogits != nil ? logits.pointer + start * V : logits.pointer
                        if cachedLogits == nil {
                            linear(inputs.pointer, weight: head, into: block, rows: n, inFeatures: C, outFeatures: V)
                        }
                        Parallel.forEachChunk(count: n, minimumChunk: 4) { range in
                            for j in range {
                                // dlogits = Σ over the positions this row scores of g · (onehot(token) − softmax).
                                let index = activeList[start + j]
                                let scored = Int(targets.starts[index])..<Int(targets.starts[index + 1])
                                var weight: Float = 0
                                for k in scored { weight += g[Int(targets.positions[k])] }
                                let d = block + j * V
                                _ = VectorMath.expShifted(d, shift: lse[index], into: d, count: V)
                                for v in 0..<V { d[v] *= -weight }
                                for k in scored { d[Int(targets.tokens[k])] += g[Int(targets.positions[k])] }
                            }
                        }
                        linearInputGradient(outputGradient: block, weight: head, into: inputGradients.pointer,
                                            rows: n, inFeatures: C, outFeatures: V, accumulate: false)
                        for (j, row) in rows.enumerated() {
                            VectorMath.addScaled(inputGradients.pointer + j * C, scale: 1, to: dHidden + row * C, count: C)
                        }
                        if let headGradient {
                            linearWeightGradient(outputGradient: block, input: inputs.pointer, into: headGradient,
                                                 rows: n, inFeatures: C, outFeatures: V)
                        }
                    }
                }
            }
        }
    }
}
