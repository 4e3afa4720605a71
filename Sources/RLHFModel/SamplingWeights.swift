import Foundation
import RLHFTensor

/// How the weights that sampling reads are held.
public enum SamplingWeightFormat: String, Sendable, Codable, CaseIterable {
    /// The model's own float32 parameters (exact).
    case f32
    /// 8-bit blocks of 32 with a float scale (llama.cpp's Q8_0): a quarter of the bytes to stream
    /// per decoding step, at a small cost in log-prob accuracy (``LlamaModel/samplingWeightError(prompts:newTokens:)``).
    case q8_0 = "q8_0"
}

/// Quantized copies of a model's weight matrices, used by decoding (``LlamaModel/generate(prompts:parameters:stopCondition:onToken:rowSeeds:captureStatesEnteringBlock:)``
/// and ``LlamaModel/extend(_:with:)``) in place of the float weights; every teacher-forced forward
/// (training, reference and old log-probs, scoring) keeps the float weights, so losses see exact
/// log-probs.
///
/// Only matrices that do not change are copied: ``LlamaModel/quantizeForSampling(_:)`` skips
/// trainable ones, so an optimizer step never leaves a stale copy behind. Changing frozen
/// parameters by hand (loading a checkpoint into the same model) needs a new call.
public final class SamplingWeights: @unchecked Sendable {
    public let format: SamplingWeightFormat
    /// By parameter offset (``ParameterLayout/BlockOffsets``, ``ParameterLayout/outputHead``).
    let matrices: [Int: QuantizedMatrix]

    init(format: SamplingWeightFormat, matrices: [Int: QuantizedMatrix]) {
        self.format = format
        self.matrices = matrices
    }

    /// Weight matrices held quantized.
    public var matrixCount: Int { matrices.count }
    /// Weights held quantized.
    public var weightCount: Int { matrices.values.reduce(0) { $0 + $1.rows * $1.columns } }
    /// Bytes of the quantized copies.
    public var byteCount: Int { matrices.values.reduce(0) { $0 + $1.byteCount } }

    /// The quantized matrix at `offset`, when there is one and it is the faster way to serve `rows`
    /// input rows (``QuantizedMatrix/fasterRows``; more rows read the float weights).
    func matrix(at offset: Int, rows: Int) -> QuantizedMatrix? {
        rows <= QuantizedMatrix.fasterRows ? matrices[offset] : nil
    }
}

extension LlamaModel {
    /// Makes decoding read `format` copies of every frozen weight matrix (all four of each frozen
    /// block, and the output head when it is frozen); `.f32` drops the copies. Returns what is held
    /// (nil for `.f32`, or when the CPU lacks the kernel or no matrix qualifies: decoding then stays
    /// float32). Steps of more than ``QuantizedMatrix/fasterRows`` rows (prompt prefill, large
    /// batches) read the float weights, where they are faster.
    @discardableResult
    public func quantizeForSampling(_ format: SamplingWeightFormat) -> SamplingWeights? {
        samplingWeights = nil
        guard format == .q8_0, QuantizedMatrix.isAvailable else { return nil }
        let c = configuration, C = c.hiddenSize, F = c.intermediateSize
        let W = c.queryWidth + 2 * c.keyValueWidth
        var matrices = [Int: QuantizedMatrix]()
        func add(_ offset: Int, rows: Int, columns: Int) {
            guard QuantizedMatrix.supports(columns: columns) else { return }
            matrices[offset] = QuantizedMatrix(quantizing: parameters.pointer + offset, rows: rows, columns: columns)
        }
        for (l, o) in layout.blocks.enumerated() where l < trainable.lowestTrainableBlock {
            add(o.queryKeyValue, rows: W, columns: C)
            add(o.attentionOutput, rows: C, columns: c.queryWidth)
            add(o.gateUp, rows: 2 * F, columns: C)
            add(o.down, rows: C, columns: F)
        }
        let headTrains = c.tiedEmbeddings ? trainable.tokenEmbedding : trainable.outputHead  // as isTrainable(_:)
        if !headTrains { add(layout.outputHead, rows: c.vocabularySize, columns: C) }
        guard !matrices.isEmpty else { return nil }
        samplingWeights = SamplingWeights(format: format, matrices: matrices)
        return samplingWeights
    }

    /// out[N, O] = x[N, I] · Wᵀ (+ out) for the weight at parameter `offset`: the quantized copy
    /// when `weights` holds one for it (decoding), else the float parameters.
    func project(
        _ x: UnsafePointer<Float>, weight offset: Int, using weights: SamplingWeights?, into out: UnsafeMutablePointer<Float>,
        rows N: Int, inFeatures I: Int, outFeatures O: Int, accumulate: Bool = false
    ) {
        if let matrix = weights?.matrix(at: offset, rows: N) {
            matrix.multiply(x, rows: N, into: out, accumulate: accumulate)
        } else {
            linear(x, weight: parameters.pointer + offset, into: out, rows: N, inFeatures: I, outFeatures: O, accumulate: accumulate)
        }
    }
}

/// How far decoding with ``LlamaModel/samplingWeights`` strays from the float model, per
/// predicted position: the log-prob of the token that follows, and the KL divergence of the
/// two next-token distributions.
public struct SamplingWeightError: Sendable, Codable, Equatable {
    /// Positions compared.
    public var positions: Int
    /// Mean and largest |log p_quantized(next) − log p_float(next)|, in nats.
    public var meanAbsoluteLogProbDifference: Double
    public var maximumAbsoluteLogProbDifference: Double
    /// Mean KL(p_float ‖ p_quantized) over the whole vocabulary, in nats.
    public var meanKL: Double
    /// Positions where the two models' most likely next token differs.
    public var argmaxChanges: Int
}

extension LlamaModel {
    /// Feeds each row of `tokens` through the decoding path one token at a time, once with the
    /// quantized sampling weights and once with the float parameters, and compares the next-token
    /// distributions at every position but the last. Requires ``samplingWeights`` (else all zero);
    /// rows go through in groups of ``QuantizedMatrix/fasterRows``, so the copies are what decoding
    /// reads.
    public func samplingWeightError(tokens: [[Int]]) throws -> SamplingWeightError {
        var total = SamplingWeightError(positions: 0, meanAbsoluteLogProbDifference: 0, maximumAbsoluteLogProbDifference: 0,
                                        meanKL: 0, argmaxChanges: 0)
        guard samplingWeights != nil else { return total }
        precondition(tokens.allSatisfy { !$0.isEmpty }, "non-empty rows")
        for start in stride(from: 0, to: tokens.count, by: QuantizedMatrix.fasterRows) {
            let part = try samplingWeightError(group: Array(tokens[start..<min(tokens.count, start + QuantizedMatrix.fasterRows)]))
            total.meanAbsoluteLogProbDifference += part.meanAbsoluteLogProbDifference * Double(part.positions)
            total.meanKL += part.meanKL * Double(part.positions)
            total.maximumAbsoluteLogProbDifference = max(total.maximumAbsoluteLogProbDifference, part.maximumAbsoluteLogProbDifference)
            total.argmaxChanges += part.argmaxChanges
            total.positions += part.positions
        }
        total.meanAbsoluteLogProbDifference /= Double(max(1, total.positions))
        total.meanKL /= Double(max(1, total.positions))
        return total
    }

    private func samplingWeightError(group tokens: [[Int]]) throws -> SamplingWeightError {
        let quantized = samplingWeights
        defer { samplingWeights = quantized }
        let V = configuration.vocabularySize, longest = tokens.map(\.count).max() ?? 0
        func logSoftmaxSteps(_ weights: SamplingWeights?) throws -> [[Float]] {
            samplingWeights = weights
            let cache = makeCache(batchSize: tokens.count, capacity: longest)
            var steps = [[Float]]()
            for t in 0..<(longest - 1) {
                var logits = try extend(cache, with: tokens.map { t < $0.count - 1 ? [$0[t]] : [] })
                logits.withUnsafeMutableBufferPointer { buffer in
                    for b in 0..<tokens.count where t < tokens[b].count - 1 {
                        let row = buffer.baseAddress! + b * V
                        let logNormalizer = VectorMath.logSumExp(row, count: V)
                        for i in 0..<V { row[i] -= logNormalizer }
                    }
                }
                steps.append(logits)
            }
            return steps
        }
        let exact = try logSoftmaxSteps(nil), approximate = try logSoftmaxSteps(quantized)
        var error = SamplingWeightError(positions: 0, meanAbsoluteLogProbDifference: 0, maximumAbsoluteLogProbDifference: 0,
                                        meanKL: 0, argmaxChanges: 0)
        for t in 0..<exact.count {
            for b in 0..<tokens.count where t < tokens[b].count - 1 {
                let p = exact[t][(b * V)..<((b + 1) * V)], q = approximate[t][(b * V)..<((b + 1) * V)]
                let next = b * V + tokens[b][t + 1]
                let difference = abs(Double(approximate[t][next]) - Double(exact[t][next]))
                var kl = 0.0
                for (lp, lq) in zip(p, q) { kl += exp(Double(lp)) * (Double(lp) - Double(lq)) }
                error.positions += 1
                error.meanAbsoluteLogProbDifference += difference
                error.maximumAbsoluteLogProbDifference = max(error.maximumAbsoluteLogProbDifference, difference)
                error.meanKL += kl
                if p.indices.max(by: { p[$0] < p[$1] }) != q.indices.max(by: { q[$0] < q[$1] }) { error.argmaxChanges += 1 }
            }
        }
        error.meanAbsoluteLogProbDifference /= Double(max(1, error.positions))
        error.meanKL /= Double(max(1, error.positions))
        return error
    }
}
