/// What a trainer reports after each event; the caller decides what to print or log.
public enum TrainingProgress: CustomStringConvertible, Sendable {
    /// One optimizer step finished.
    case step(StepMetrics)
    /// A held-out evaluation finished.
    case evaluation(step: Int, loss: Double)
    /// A checkpoint was written.
    case checkpoint(step: Int, path: String)

    public var description: String {
        switch self {
        case let .step(m):
            return "step \(m.step)/\(m.totalSteps) loss \(format(m.loss)) lr \(format(Double(m.learningRate), digits: 6)) grad-norm \(format(Double(m.gradientNorm))) \(Int(m.tokensPerSecond)) tok/s"
        case let .evaluation(step, loss):
            return "eval at step \(step): loss \(format(loss))"
        case let .checkpoint(step, path):
            return "checkpoint at step \(step): \(path)"
        }
    }
}

/// Metrics of one optimizer step.
public struct StepMetrics: Sendable, Codable {
    /// 1-based index of the step just taken.
    public var step: Int
    public var totalSteps: Int
    /// Training loss before the update.
    public var loss: Double
    /// Learning rate used for the update.
    public var learningRate: Float
    /// Global gradient norm before clipping.
    public var gradientNorm: Float
    /// Tokens processed per second in this step.
    public var tokensPerSecond: Double
    /// Seconds since training started.
    public var elapsedSeconds: Double

    public init(step: Int, totalSteps: Int, loss: Double, learningRate: Float, gradientNorm: Float, tokensPerSecond: Double, elapsedSeconds: Double) {
        self.step = step
        self.totalSteps = totalSteps
        self.loss = loss
        self.learningRate = learningRate
        self.gradientNorm = gradientNorm
        self.tokensPerSecond = tokensPerSecond
        self.elapsedSeconds = elapsedSeconds
    }

    /// TRL's metric names where TRL has one (`grad_norm`, `learning_rate`).
    enum CodingKeys: String, CodingKey {
        case step, totalSteps = "total_steps", loss, learningRate = "learning_rate", gradientNorm = "grad_norm"
        case tokensPerSecond = "tokens_per_second", elapsedSeconds = "elapsed_seconds"
    }
}

/// A progress callback's answer.
public enum TrainingDecision: Sendable {
    case more
    case stop
}

/// Errors that stop training without losing state.
public enum TrainingError: Error, CustomStringConvertible, Equatable {
    /// The loss or the gradient norm was NaN or infinite; the update was not applied.
    case nonFinite(step: Int, loss: Double, gradientNorm: Float)
    /// The data has fewer tokens than one training window.
    case notEnoughData(tokens: Int, needed: Int)
    /// A NaN or ∞ in a named tensor (log-probs, values, rewards, a loss or its gradient) at a
    /// step; nothing of that update was applied.
    case nonFiniteTensor(step: Int, tensor: String, detail: String)

    public var description: String {
        switch self {
        case let .nonFinite(step, loss, norm):
            return "step \(step): non-finite loss (\(loss)) or gradient norm (\(norm)); the update was skipped and the last checkpoint is intact — lower the learning rate or check the data"
        case let .nonFiniteTensor(step, tensor, detail):
            return "step \(step): non-finite \(tensor) (\(detail)); the update was not applied and the last checkpoint is intact"
        case let .notEnoughData(tokens, needed):
            return "the data has \(tokens) tokens, fewer than one window of \(needed)"
        }
    }
}

func format(_ value: Double, digits: Int = 4) -> String {
    guard value.isFinite else { return "\(value)" }
    var text = String(value)
    if let dot = text.firstIndex(of: "."), text.distance(from: dot, to: text.endIndex) > digits + 1, !text.contains("e") {
        text = String(text[..<text.index(dot, offsetBy: digits + 1)])
    }
    return text
}
