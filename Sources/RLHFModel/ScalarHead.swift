import RLHFTensor

/// A scalar head on the final hidden state: value[b, t] = w · h[b, t] + bias, for reward models
/// (read at the last real token) and PPO's value function (read at every position).
///
/// Parameters `score.weight` [1, C] and `score.bias` [1] sit at the end of the parameter layout.
extension LlamaModel {
    /// Values [B, T] at real positions, zero on padding.
    func scalarHeadForward(_ s: ActivationStorage) -> [Float] {
        guard let offset = layout.scalarHead else { return [] }
        let C = configuration.hiddenSize, T = s.sequenceLength
        let w = parameters.pointer + offset, bias = w[C]
        var result = [Float](repeating: 0, count: s.rows)
        for b in 0..<s.batchSize {
            for t in 0..<Int(s.lengths[b]) {
                let row = b * T + t
                result[row] = VectorMath.dot(s.finalNormed.pointer + row * C, w, count: C) + bias
            }
        }
        return result
    }

    /// dh[r] += g[r]·w; dw += Σ g[r]·h[r]; dbias += Σ g[r] (real positions only).
    func scalarHeadBackward(_ s: ActivationStorage, gradients g: UnsafePointer<Float>, hiddenGradient dHidden: UnsafeMutablePointer<Float>) {
        guard let offset = layout.scalarHead else { return }
        let C = configuration.hiddenSize, T = s.sequenceLength
        let w = parameters.pointer + offset
        let dw: UnsafeMutablePointer<Float>? = trainable.scalarHead ? gradients.pointer + offset : nil
        for b in 0..<s.batchSize {
            for t in 0..<Int(s.lengths[b]) {
                let row = b * T + t
                let d = g[row]
                guard d != 0 else { continue }
                VectorMath.addScaled(w, scale: d, to: dHidden + row * C, count: C)
                if let dw {
                    VectorMath.addScaled(s.finalNormed.pointer + row * C, scale: d, to: dw, count: C)
                    dw[C] += d
                }
            }
        }
    }
}
