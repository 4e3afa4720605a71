import RLHFTensor

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Rotary position embedding in the Hugging Face "rotate half" convention: within the first R
/// dimensions of a head, dimension i pairs with i + R/2 and the pair is rotated by angle
/// t · θ^(−2i/R) at position t. (GGUF files store Q/K rows permuted for the adjacent-pair
/// convention; loaders convert at the boundary.)
public struct RotaryEmbedding: Sendable {
    /// R: rotated dimensions per head.
    public let rotaryDimensionCount: Int
    /// Positions covered by the tables.
    public let maximumPosition: Int
    /// cos/sin tables, [maximumPosition, R/2].
    let cosines: [Float]
    let sines: [Float]

    /// Precomputes the tables (angles in Double, rounded once to Float).
    public init(rotaryDimensionCount R: Int, theta: Double, maximumPosition: Int) {
        rotaryDimensionCount = R
        self.maximumPosition = maximumPosition
        let half = R / 2
        var c = [Float](repeating: 0, count: maximumPosition * half)
        var s = c
        for i in 0..<half {
            // HF computes inv_freq in float32; round the same way before multiplying by t.
            let inverseFrequency = Double(Float(1.0 / pow(theta, Double(2 * i) / Double(R))))
            for t in 0..<maximumPosition {
                let angle = Double(Float(Double(t) * inverseFrequency))
                c[t * half + i] = Float(cos(angle))
                s[t * half + i] = Float(sin(angle))
            }
        }
        cosines = c
        sines = s
    }

    /// Rotates `heads` heads of size HS starting at column `column` of each row of a [B·T, width]
    /// matrix in place; row b·T + t is at position t, or at `positions[row]` when given (KV-cache
    /// decoding, where each row continues its own sequence).
    ///
    /// Forward: (x1, x2) → (x1·cos − x2·sin, x2·cos + x1·sin).
    /// With `inverse` the transposed rotation is applied, which is the backward pass:
    /// (d1, d2) → (d1·cos + d2·sin, d2·cos − d1·sin).
    public func apply(
        _ matrix: UnsafeMutablePointer<Float>, rows: Int, sequenceLength T: Int, width: Int,
        column: Int, heads: Int, headDimension HS: Int, inverse: Bool = false, positions: UnsafePointer<Int32>? = nil
    ) {
        let half = rotaryDimensionCount / 2
        precondition(positions != nil || T <= maximumPosition, "sequence longer than the rotary table")
        nonisolated(unsafe) let matrix = matrix, positions = positions
        cosines.withUnsafeBufferPointer { cosBuffer in
            sines.withUnsafeBufferPointer { sinBuffer in
                nonisolated(unsafe) let cosTable = cosBuffer.baseAddress!, sinTable = sinBuffer.baseAddress!
                let sign: Float = inverse ? -1 : 1
                Parallel.forEachChunk(count: rows, minimumChunk: 32) { range in
                    for row in range {
                        let t = positions.map { Int($0[row]) } ?? row % T
                        precondition(t < maximumPosition, "position beyond the rotary table")
                        let cr = cosTable + t * half, sr = sinTable + t * half
                        for h in 0..<heads {
                            let x = matrix + row * width + column + h * HS
                            for i in 0..<half {
                                let x1 = x[i], x2 = x[i + half]
                                let cs = cr[i], sn = sign * sr[i]
                                x[i] = x1 * cs - x2 * sn
                                x[i + half] = x2 * cs + x1 * sn
                            }
                        }
                    }
                }
            }
        }
    }
}
