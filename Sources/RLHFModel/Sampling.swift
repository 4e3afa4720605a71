import RLHFTensor

/// How tokens are drawn from next-token logits.
public struct SamplingParameters: Sendable, Equatable, Codable {
    /// Softmax temperature; 0 means greedy (argmax).
    public var temperature: Float = 1
    /// Keep only the k most likely tokens (0: no limit).
    public var topK: Int = 0
    /// Keep the smallest set of most likely tokens whose probability reaches p (1: no limit).
    public var topP: Float = 1
    /// Most tokens generated per row.
    public var maximumNewTokens: Int = 128
    /// Token ids that end a row (included in its output), e.g. the model's EOS.
    public var stopTokenIds: Set<Int> = []
    /// Seed of the per-row random generators (row r uses a stream derived from seed and r, so a
    /// row's sample does not depend on the rest of the batch).
    public var seed: UInt64 = 0

    public init(
        temperature: Float = 1, topK: Int = 0, topP: Float = 1, maximumNewTokens: Int = 128,
        stopTokenIds: Set<Int> = [], seed: UInt64 = 0
    ) {
        self.temperature = temperature
        self.topK = topK
        self.topP = topP
        self.maximumNewTokens = maximumNewTokens
        self.stopTokenIds = stopTokenIds
        self.seed = seed
    }

    /// Greedy decoding.
    public static func greedy(maximumNewTokens: Int, stopTokenIds: Set<Int> = []) -> SamplingParameters {
        SamplingParameters(temperature: 0, maximumNewTokens: maximumNewTokens, stopTokenIds: stopTokenIds)
    }
}

/// Draws one token from a logits row and reports its log-probabilities.
public enum TokenSampler {
    /// A drawn token with log q(token) under the sampling distribution (after temperature,
    /// top-k and top-p; 0 for greedy) and log p(token) under the model (temperature 1, full vocabulary).
    public struct Draw: Sendable, Equatable {
        public let token: Int
        public let samplingLogProb: Float
        public let modelLogProb: Float
    }

    /// Samples from `logits[0..<V]`. `scratch` must hold 2·V floats.
    public static func draw(
        _ logits: UnsafePointer<Float>, count V: Int, parameters: SamplingParameters, generator: inout SeededGenerator,
        scratch: UnsafeMutablePointer<Float>
    ) -> Draw {
        let maximum = VectorMath.maximum(logits, count: V)
        if parameters.temperature <= 0 {
            var best = 0
            for v in 1..<V where logits[v] > logits[best] { best = v }
            let modelLogSumExp = maximum + VectorMath.naturalLog(VectorMath.expShifted(logits, shift: maximum, into: scratch, count: V))
            return Draw(token: best, samplingLogProb: 0, modelLogProb: logits[best] - modelLogSumExp)
        }
        // q ∝ exp((logits − max) / T), truncated; at T = 1 the untruncated total also gives log p.
        let q = scratch
        var total: Float
        var modelLogSumExp: Float
        if parameters.temperature == 1 {
            total = VectorMath.expShifted(logits, shift: maximum, into: q, count: V)
            modelLogSumExp = maximum + VectorMath.naturalLog(total)
        } else {
            modelLogSumExp = maximum + VectorMath.naturalLog(VectorMath.expShifted(logits, shift: maximum, into: q, count: V))
            let inverseTemperature = 1 / parameters.temperature
            total = 0
            for v in 0..<V {
                let e = VectorMath.exp((logits[v] - maximum) * inverseTemperature)
                q[v] = e
                total += e
            }
        }
        if parameters.topK > 0 && parameters.topK < V || parameters.topP < 1 {
            total = truncate(q, count: V, total: total, topK: parameters.topK, topP: parameters.topP, scratch: scratch + V)
        }
        let target = generator.nextUniform() * total
        var cumulative: Float = 0
        var token = -1
        for v in 0..<V where q[v] > 0 {
            cumulative += q[v]
            token = v
            if cumulative > target { break }
        }
        return Draw(
            token: token, samplingLogProb: VectorMath.naturalLog(q[token] / total),
            modelLogProb: logits[token] - modelLogSumExp)
    }

    /// Zeroes the weights outside the top-k / top-p set and returns the remaining total.
    static func truncate(
        _ q: UnsafeMutablePointer<Float>, count V: Int, total: Float, topK: Int, topP: Float,
        scratch: UnsafeMutablePointer<Float>
    ) -> Float {
        // Sort candidate weights descending to find the cut-off weight.
        scratch.update(from: q, count: V)
        var sorted = UnsafeMutableBufferPointer(start: scratch, count: V)
        sorted.sort(by: >)
        var keep = topK > 0 ? min(topK, V) : V
        if topP < 1 {
            var mass: Float = 0
            for i in 0..<keep {
                mass += sorted[i]
                if mass >= topP * total {
                    keep = i + 1
                    break
                }
            }
        }
        let threshold = sorted[keep - 1]
        // Ties at the threshold are kept only up to `keep` tokens, in id order.
        var above = 0
        for v in 0..<V where q[v] > threshold { above += 1 }
        var tiesAllowed = keep - above
        var remaining: Float = 0
        for v in 0..<V {
            if q[v] > threshold || (q[v] == threshold && tiesAllowed > 0) {
                if q[v] == threshold { tiesAllowed -= 1 }
                remaining += q[v]
            } else {
                q[v] = 0
            }
        }
        return remaining
    }
}
