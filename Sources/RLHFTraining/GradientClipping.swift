import RLHFModel

/// Global-norm gradient clipping over the trainable parameters (`torch.nn.utils.clip_grad_norm_`).
public enum GradientClipping {
    /// √(Σ g²) over every trainable parameter's gradient (accumulated in Double).
    public static func globalNorm(_ model: LlamaModel) -> Float {
        var total = 0.0
        let G = model.gradients.pointer
        for entry in model.layout.entries where model.isTrainable(entry) {
            var partial: Float = 0
            var chunkSum = 0.0
            let g = G + entry.offset
            for i in 0..<entry.count {
                partial += g[i] * g[i]
                if i & 4095 == 4095 {
                    chunkSum += Double(partial)
                    partial = 0
                }
            }
            total += chunkSum + Double(partial)
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
