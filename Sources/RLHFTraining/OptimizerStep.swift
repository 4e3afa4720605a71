import RLHFModel

/// The end of every trainer's step: global-norm clipping → finite check → AdamW at the scheduled
/// learning rate. Nothing is applied when the loss or the gradient norm is not finite.
public enum OptimizerStep {
    /// Clips ``LlamaModel/gradients`` to `maximumGradientNorm` (≤ 0: no clipping), checks that
    /// `loss` and the norm are finite, and updates the trainable parameters.
    /// - Returns: the global gradient norm before clipping.
    /// - Throws: ``TrainingError/nonFinite(step:loss:gradientNorm:)`` (parameters untouched).
    @discardableResult
    public static func apply(
        _ model: LlamaModel, optimizer: AdamW, learningRate: Float, maximumGradientNorm: Float, step: Int, loss: Double
    ) throws -> Float {
        let norm = maximumGradientNorm > 0
            ? GradientClipping.clip(model, maximumNorm: maximumGradientNorm) : GradientClipping.globalNorm(model)
        guard loss.isFinite, norm.isFinite else { throw TrainingError.nonFinite(step: step, loss: loss, gradientNorm: norm) }
        optimizer.update(model, learningRate: learningRate)
        return norm
    }
}
