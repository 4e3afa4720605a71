import RLHFRollouts

/// Guards of the online trainers: the first NaN or ∞ in a named tensor becomes a
/// ``TrainingError/nonFiniteTensor(step:tensor:detail:)`` before anything is applied.
enum NonFiniteCheck {
    static func scalar(_ value: Double, tensor: String, step: Int) throws {
        guard value.isFinite else { throw TrainingError.nonFiniteTensor(step: step, tensor: tensor, detail: "value \(value)") }
    }

    /// The first NaN or ∞ among per-sequence values.
    static func scalars(_ values: [Double], tensor: String, step: Int) throws {
        if let i = values.firstIndex(where: { !$0.isFinite }) {
            throw TrainingError.nonFiniteTensor(step: step, tensor: tensor, detail: "row \(i + 1): \(values[i])")
        }
    }

    static func tokens<F: BinaryFloatingPoint>(_ rows: [[F]], tensor: String, step: Int) throws {
        for (row, values) in rows.enumerated() {
            if let t = values.firstIndex(where: { !$0.isFinite }) {
                throw TrainingError.nonFiniteTensor(step: step, tensor: tensor, detail: "response \(row + 1), token \(t + 1): \(values[t])")
            }
        }
    }

    static func rollouts(_ rollouts: [Rollout], values: [[Double]]?, step: Int) throws {
        try tokens(rollouts.map(\.oldLogProbs), tensor: "rollout-time log-probs", step: step)
        try tokens(rollouts.map(\.referenceLogProbs), tensor: "reference log-probs", step: step)
        if let values { try tokens(values, tensor: "rollout-time values", step: step) }
        if let bad = rollouts.firstIndex(where: { !$0.reward.isFinite }) {
            throw TrainingError.nonFiniteTensor(step: step, tensor: "rewards", detail: "response \(bad + 1): \(rollouts[bad].reward)")
        }
    }
}
