import RLHFTensor

/// The rollouts of one phase, iterated for several epochs in shuffled minibatches that keep each
/// prompt group (a P3O pair, a GRPO group) whole. Deterministic under a seed.
public struct RolloutStore: Sendable {
    public let rollouts: [Rollout]
    /// Indices of each group's rollouts, in group order.
    public let groups: [[Int]]

    public init(_ rollouts: [Rollout]) {
        self.rollouts = rollouts
        var byGroup = [Int: [Int]]()
        for (index, rollout) in rollouts.enumerated() { byGroup[rollout.group, default: []].append(index) }
        groups = byGroup.keys.sorted().map { byGroup[$0]! }
    }

    /// For each epoch, the groups in a fresh seeded order, cut into minibatches of
    /// `groupsPerMinibatch` groups (the last may be smaller); each minibatch lists rollouts.
    public func minibatches(epochs: Int, groupsPerMinibatch: Int, seed: UInt64) -> [[[Rollout]]] {
        Self.plan(groups: groups, epochs: epochs, groupsPerMinibatch: groupsPerMinibatch, seed: seed).map { epoch in
            epoch.map { minibatch in minibatch.map { rollouts[$0] } }
        }
    }

    /// The minibatch plan of ``minibatches(epochs:groupsPerMinibatch:seed:)`` on indices: for each
    /// epoch, the groups (lists of indices) in a fresh seeded order, cut into minibatches of
    /// `groupsPerMinibatch` groups, each minibatch the concatenated indices of its groups. Known
    /// before the rollouts are scored, so a trainer can score them in the first epoch's batches.
    public static func plan(groups: [[Int]], epochs: Int, groupsPerMinibatch: Int, seed: UInt64) -> [[[Int]]] {
        precondition(groupsPerMinibatch > 0, "minibatches need at least one group")
        var generator = SeededGenerator(seed: seed)
        return (0..<epochs).map { _ in
            var order = Array(groups.indices)
            order.shuffle(using: &generator)
            return stride(from: 0, to: order.count, by: groupsPerMinibatch).map { start in
                order[start..<min(order.count, start + groupsPerMinibatch)].flatMap { groups[$0] }
            }
        }
    }
}
