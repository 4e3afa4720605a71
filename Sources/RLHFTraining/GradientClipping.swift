import RLHFModel
import RLHFTensor

/// Global-norm gradient clipping over the trainable parameters (`torch.nn.utils.clip_grad_norm_`).
public enum GradientClipping {
    /// √(Σ g²) over every trainable parameter's gradient (accumulated in Double).
    public static func globalNorm(_ model: LlamaModel) -> Float {
        var total = 0.0
        let G = model.gradients.pointer
        for entry in model.layout.entries where model.isTrainable(entry) {
            let g = G + entry.offset
            // Float SIMD dot products over 4096-element chunks, summed in Double.
            for start in stride(from: 0, to: entry.count, by: 4096) {
                let n = min(4096, entry.count - start)
                total += Double(VectorMath.dot(g + start, g + start, count: n))
            }
        }
        return Float(total.squareRoot())
    }

    /// Scales gradients so their global norm is at most `maximumNorm`; returns the norm before
    /// clipping (non-finite when some gradient is NaN or infinite, in which case nothing is scaled).
    @discardableResult
    public static func clip(_ model: LlamaModel, maximumNorm: Float) -> Float {
        let norm = globalNorm(model)
        guard norm.isFinite else { return norm }
        let coefficient = maximumNorm / (norm + 1e-6)
        guard coefficient < 1 else { return norm }
        let G = model.gradients.pointer
        for entry in model.layout.entries where model.isTrainable(entry) {
            let g = G + entry.offset
            for i in 0..<entry.count { g[i] *= coefficient }
        }
        return norm
    }
}
