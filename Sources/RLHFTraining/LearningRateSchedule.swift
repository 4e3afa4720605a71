#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A learning-rate multiplier as a function of the step (0-based), as in Hugging Face's
/// `get_*_schedule_with_warmup`.
public enum LearningRateSchedule: Codable, Sendable, Equatable {
    /// Always 1.
    case constant
    /// Linear warm-up from 0 to 1 over `warmupSteps`, then 1.
    case linearWarmup(warmupSteps: Int)
    /// Linear warm-up, then linear decay to 0 at `totalSteps` (TRL's default).
    case linear(warmupSteps: Int, totalSteps: Int)
    /// Linear warm-up, then half a cosine from 1 down to `minimumRatio` at `totalSteps`.
    case cosine(warmupSteps: Int, totalSteps: Int, minimumRatio: Float)

    /// The multiplier at `step`.
    public func multiplier(step: Int) -> Float {
        func warmup(_ w: Int) -> Float? { step < w ? Float(step) / Float(max(1, w)) : nil }
        switch self {
        case .constant:
            return 1
        case let .linearWarmup(w):
            return warmup(w) ?? 1
        case let .linear(w, total):
            if let value = warmup(w) { return value }
            return max(0, Float(total - step) / Float(max(1, total - w)))
        case let .cosine(w, total, minimumRatio):
            if let value = warmup(w) { return value }
            let progress = min(1, Double(step - w) / Double(max(1, total - w)))
            let cosine = Float(0.5 * (1 + cos(Double.pi * progress)))
            return minimumRatio + (1 - minimumRatio) * cosine
        }
    }

    /// `baseRate` × the multiplier at `step`.
    public func learningRate(step: Int, baseRate: Float) -> Float { baseRate * multiplier(step: step) }
}
