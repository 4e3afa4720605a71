import RLHFTensor

/// A scalar head on the final hidden state: value[b, t] = w · h[b, t], for reward models (read at
/// the last real token) and PPO's value function (read at every position).
///
/// The parameter `score.weight` [1, C] sits at the end of the parameter layout. There is no bias,
/// as in Hugging Face's `LlamaForSequenceClassification` (and OpenRLHF's value head), so a reward
/// model trained here is that class's checkpoint; Bradley–Terry cannot see a bias anyway.
extension LlamaModel {
    /// Values [B, T] at real positions, zero on padding.
    func scalarHeadForward(_ s: ActivationStorage) -> [Float] {
        guard let offset = layout.scalarHead else { return [] }
        let C = configuration.hiddenSize
        let w = parameters.pointer + offset
        var result = [Float](repeating: 0, count: s.batchSize * s.sequenceLength)
        for (position, row) in s.packing.rowOfPosition.enumerated() where row >= 0 {
            result[position] = VectorMath.dot(s.finalNormed.pointer + Int(row) * C, w, count: C)
        }
        return result
    }

    /// dh[r] += g[b, t]·w; dw += Σ g[b, t]·h[r] over the real positions (b, t) row r computes.
    func scalarHeadBackward(_ s: ActivationStorage, gradients g: UnsafePointer<Float>, hiddenGradient dHidden: UnsafeMutablePointer<Float>) {
        guard let offset = layout.scalarHead else { return }
        let C = configuration.hiddenSize
        let w = parameters.pointer + offset
        let dw: UnsafeMutablePointer<Float>? = trainable.scalarHead ? gradients.pointer + offset : nil
        for (position, packedRow) in s.packing.rowOfPosition.enumerated() where packedRow >= 0 {
            let row = Int(packedRow), d = g[position]
            guard d != 0 else { continue }
            VectorMath.addScaled(w, scale: d, to: dHidden + row * C, count: C)
            if let dw {
                VectorMath.addScaled(s.finalNormed.pointer + row * C, scale: d, to: dw, count: C)
            }
        }
    }
}

extension LlamaModel {
    /// Draws a fresh scalar head, N(0, 1/(C+1)) from `seed` (ensemble members differ in this seed).
    public func initializeScalarHead(seed: UInt64) {
        initialize(seed: seed) { $0.role == .scalarHeadWeight }
    }

    /// Sets the scalar head to zero: a value head that predicts 0 everywhere at first, so the
    /// first advantages are the rewards-to-go and no random values disturb the shared trunk.
    public func zeroScalarHead() {
        for entry in layout.entries where entry.role == .scalarHeadWeight {
            (parameters.pointer + entry.offset).update(repeating: 0, count: entry.count)
        }
    }
}
