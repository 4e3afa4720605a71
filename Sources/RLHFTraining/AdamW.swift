import RLHFModel
import RLHFTensor

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// AdamW with decoupled weight decay, matching `torch.optim.AdamW` step for step.
///
/// For step t (starting at 1), per trainable parameter p with gradient g:
///
///     p ← p · (1 − lr·λ)
///     m ← β₁·m + (1 − β₁)·g;   v ← β₂·v + (1 − β₂)·g²
///     p ← p − (lr / (1 − β₁ᵗ)) · m / (√v / √(1 − β₂ᵗ) + ε)
///
/// The moments share the model's ``ParameterLayout``, so the update is one flat loop over each
/// trainable tensor; frozen tensors are untouched (their moments stay zero).
public final class AdamW: @unchecked Sendable {
    /// Hyper-parameters.
    public struct Configuration: Codable, Sendable, Equatable {
        /// β₁, β₂.
        public var beta1: Float, beta2: Float
        /// ε added to the denominator.
        public var epsilon: Float
        /// λ, decoupled weight decay.
        public var weightDecay: Float
        /// Apply weight decay to RMSNorm weights and biases too (PyTorch applies it to every parameter
        /// it is given; Hugging Face's Trainer excludes them).
        public var decayNormsAndBiases: Bool

        public init(
            beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8,
            weightDecay: Float = 0.01, decayNormsAndBiases: Bool = true
        ) {
            self.beta1 = beta1
            self.beta2 = beta2
            self.epsilon = epsilon
            self.weightDecay = weightDecay
            self.decayNormsAndBiases = decayNormsAndBiases
        }
    }

    public let configuration: Configuration
    /// m, laid out like the model's parameters.
    public let firstMoment: FloatBuffer
    /// v, laid out like the model's parameters.
    public let secondMoment: FloatBuffer
    /// Number of updates applied so far.
    public internal(set) var step: Int = 0

    /// Creates zeroed moments for `model`'s layout.
    public init(model: LlamaModel, configuration: Configuration) {
        self.configuration = configuration
        firstMoment = FloatBuffer(count: model.layout.totalCount)
        secondMoment = FloatBuffer(count: model.layout.totalCount)
    }

    /// Applies one update to the trainable parameters of `model` from its ``LlamaModel/gradients``,
    /// at `learningRate` (the trainer's schedule owns it; the optimizer keeps none).
    public func update(_ model: LlamaModel, learningRate: Float) {
        precondition(model.layout.totalCount == firstMoment.count, "optimizer state does not match the model")
        step += 1
        let lr = learningRate
        let c = configuration
        let correction1 = 1 - pow(Double(c.beta1), Double(step))
        let correction2 = 1 - pow(Double(c.beta2), Double(step))
        let stepSize = Float(Double(lr) / correction1)
        let correction2Root = Float(correction2.squareRoot())
        let P = model.parameters.pointer, G = model.gradients.pointer
        let M = firstMoment.pointer, V = secondMoment.pointer
        for entry in model.layout.entries where model.isTrainable(entry) {
            let decays: Bool
            switch entry.role {
            case .attentionNorm, .mlpNorm, .finalNorm: decays = c.decayNormsAndBiases
            default: decays = true
            }
            let shrink = decays ? 1 - lr * c.weightDecay : 1
            nonisolated(unsafe) let p = P + entry.offset, g = G + entry.offset
            nonisolated(unsafe) let m = M + entry.offset, v = V + entry.offset
            Parallel.forEachChunk(count: entry.count, minimumChunk: 1 << 16) { range in
                Self.updateRange(
                    range, parameters: p, gradients: g, firstMoment: m, secondMoment: v, configuration: c,
                    shrink: shrink, stepSize: stepSize, correction2Root: correction2Root)
            }
        }
    }

    /// The element-wise AdamW update over `range`, eight lanes at a time.
    @inline(__always)
    static func updateRange(
        _ range: Range<Int>, parameters p: UnsafeMutablePointer<Float>, gradients g: UnsafeMutablePointer<Float>,
        firstMoment m: UnsafeMutablePointer<Float>, secondMoment v: UnsafeMutablePointer<Float>,
        configuration c: Configuration, shrink: Float, stepSize: Float, correction2Root: Float
    ) {
        var i = range.lowerBound
        let b1 = c.beta1, b2 = c.beta2, epsilon = c.epsilon
        while i + 8 <= range.upperBound {
            let gi = UnsafeRawPointer(g + i).loadUnaligned(as: SIMD8<Float>.self)
            let mi = b1 * UnsafeRawPointer(m + i).loadUnaligned(as: SIMD8<Float>.self) + (1 - b1) * gi
            let vi = b2 * UnsafeRawPointer(v + i).loadUnaligned(as: SIMD8<Float>.self) + (1 - b2) * gi * gi
            UnsafeMutableRawPointer(m + i).storeBytes(of: mi, as: SIMD8<Float>.self)
            UnsafeMutableRawPointer(v + i).storeBytes(of: vi, as: SIMD8<Float>.self)
            let denominator = vi.squareRoot() / correction2Root + epsilon
            let pi = UnsafeRawPointer(p + i).loadUnaligned(as: SIMD8<Float>.self) * shrink - stepSize * mi / denominator
            UnsafeMutableRawPointer(p + i).storeBytes(of: pi, as: SIMD8<Float>.self)
            i += 8
        }
        while i < range.upperBound {
            let gi = g[i]
            let mi = b1 * m[i] + (1 - b1) * gi
            let vi = b2 * v[i] + (1 - b2) * gi * gi
            m[i] = mi
            v[i] = vi
            p[i] = p[i] * shrink - stepSize * mi / (vi.squareRoot() / correction2Root + epsilon)
            i += 1
        }
    }

    /// Restores moments and step count (from a checkpoint).
    public func restore(step: Int, firstMoment m: UnsafeBufferPointer<Float>, secondMoment v: UnsafeBufferPointer<Float>) {
        precondition(m.count == firstMoment.count && v.count == secondMoment.count, "moment sizes differ")
        self.step = step
        firstMoment.pointer.update(from: m.baseAddress!, count: m.count)
        secondMoment.pointer.update(from: v.baseAddress!, count: v.count)
    }
}
