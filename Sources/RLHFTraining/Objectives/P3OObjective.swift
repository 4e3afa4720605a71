import RLHFAlignment
import RLHFRollouts

/// P3O (p3o.md): two responses per prompt from the rollout-time policy, the update driven only by
/// the KL-penalised pair difference
///
///     Δ = (r₁ − r₂) − β·(S(y₁) − S(y₂)),   S(y) = Σ_t [log π(y_t|·) − log π_ref(y_t|·)]
///
/// through ``P3O/loss(variant:delta:newFirst:newSecond:oldFirst:oldSecond:updateClip:weightClip:reduction:)``.
/// S is recomputed from the current parameters at every minibatch (detached), as the authors'
/// code does (p3o.md §3; in the first inner epoch it equals S_old), or held at S_old with
/// `klFromCurrentPolicy = false`. Rewards enter only as r₁ − r₂ of the same prompt, so a
/// per-prompt reward shift changes nothing (p3o.md §7). Response 1 is sample 0 of its group.
public struct P3OObjective: PolicyObjective, Sendable {
    public struct Parameters: Sendable, Codable, Equatable {
        /// Joint clipping (V2, the default) or separate clipping (V1).
        public var variant: P3O.Variant = .jointClipping
        /// ε of the update clip (`cliprange`).
        public var clip: Double = 0.2
        /// c of the importance-weight clip [1/c, c] (`cliprange_ratio`).
        public var weightClip: Double = 10
        /// The fixed KL coefficient β of Δ (`kl_coef`).
        public var beta: Double = 0.05
        /// S from the current parameters at each minibatch (authors' code) or from the rollout-time policy.
        public var klFromCurrentPolicy = true
        /// Pair mean (default) or the token-normalised sum of the Nov-2023 trainer (p3o.md §5.5).
        public var tokenNormalized = false

        public init() {}
    }

    public let parameters: Parameters
    public var name: String { "p3o" }
    public var samplesPerPrompt: Int { 2 }

    public init(parameters: Parameters) { self.parameters = parameters }

    public func prepare(_ rollouts: [Rollout], values: [[Double]]?) throws -> [Diagnostic] {
        let kl = rollouts.map(\.sequenceLogRatio)
        let scores = rollouts.map(\.reward)
        let meanKL = Statistics.meanAndStandardDeviation(kl).mean
        let meanScore = Statistics.meanAndStandardDeviation(scores).mean
        return [
            Diagnostic(name: "objective/non_score_reward", value: -parameters.beta * meanKL),
            Diagnostic(name: "objective/rlhf_reward", value: meanScore - parameters.beta * meanKL),
        ]
    }

    public func loss(_ minibatch: PolicyMinibatch) -> ObjectiveLoss {
        let pairs = minibatch.rollouts.pairIndices()
        let current = minibatch.logProbs.map { $0.reduce(0, +) }
        let reference = minibatch.rollouts.map(\.referenceSequenceLogProb)
        let old = minibatch.rollouts.map(\.oldSequenceLogProb)
        func S(_ i: Int) -> Double { (parameters.klFromCurrentPolicy ? current[i] : old[i]) - reference[i] }
        let first = pairs.map(\.0), second = pairs.map(\.1)
        let rewardFirst = first.map { minibatch.rollouts[$0].reward }, rewardSecond = second.map { minibatch.rollouts[$0].reward }
        let delta = P3O.delta(rewardFirst: rewardFirst, rewardSecond: rewardSecond,
                              klFirst: first.map(S), klSecond: second.map(S), beta: parameters.beta)
        let tokens = minibatch.logProbs.reduce(0) { $0 + $1.count }
        let result = P3O.loss(
            variant: parameters.variant, delta: delta,
            newFirst: first.map { current[$0] }, newSecond: second.map { current[$0] },
            oldFirst: first.map { old[$0] }, oldSecond: second.map { old[$0] },
            updateClip: parameters.clip, weightClip: parameters.weightClip,
            reduction: parameters.tokenNormalized ? .tokenNormalizedSum(responseTokens: max(1, tokens)) : .pairMean)
        var perSequence = [Double](repeating: 0, count: minibatch.rollouts.count)
        for (k, (a, b)) in pairs.enumerated() {
            perSequence[a] = result.firstGradient[k]
            perSequence[b] = result.secondGradient[k]
        }
        // §11: reward difference, and S of the higher- vs the lower-reward response.
        let differences = zip(rewardFirst, rewardSecond).map { $0 - $1 }
        let differenceStats = Statistics.meanAndStandardDeviation(differences)
        var chosen = 0.0, rejected = 0.0
        for (a, b) in pairs {
            let (w, l) = minibatch.rollouts[a].reward >= minibatch.rollouts[b].reward ? (a, b) : (b, a)
            chosen += S(w)
            rejected += S(l)
        }
        var diagnostics = [Diagnostic(name: "loss/policy_avg", value: result.value)]
        diagnostics += [
            Diagnostic(name: "p3o/reward_diff_mean", value: differenceStats.mean),
            Diagnostic(name: "p3o/reward_diff_abs", value: differences.reduce(0) { $0 + abs($1) } / Double(differences.count)),
            Diagnostic(name: "p3o/reward_diff_std", value: differenceStats.standardDeviation),
        ]
        diagnostics += result.diagnostics
        diagnostics += [
            Diagnostic(name: "p3o/logratio_chosen", value: chosen / Double(pairs.count)),
            Diagnostic(name: "p3o/logratio_rejected", value: rejected / Double(pairs.count)),
        ]
        return ObjectiveLoss(value: result.value, logProbGradients: ObjectiveLoss.broadcast(perSequence, like: minibatch.logProbs),
                             diagnostics: diagnostics)
    }
}
