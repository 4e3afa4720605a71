import Foundation

/// Best-of-n sampling (alignment-losses.md §6): its KL bound, the unbiased estimator of the gold
/// score of best-of-n from one pool of N ≥ n samples, exact best-of-n distributions on finite
/// supports, and the selection itself.
///
///     KL bound (Stiennon et al. 2020, App. G.3):   KL_bon(n) = log n − (n − 1)/n
///     estimator (Nakano et al. 2021, App. I):      E[gold of best-of-n] = Σ_{i=n}^{N} C(i−1, n−1)/C(N, n) · G_(i)
///     exact, finite support:                       π_bon(y) = π(y)/P(r = r(y)) · (F(r(y))^n − F(r(y)⁻)^n)
///
/// In the estimator the pool is sorted by proxy score ascending, S_1 ≤ … ≤ S_N, and G_(i) is the
/// gold score of the i-th: weight i is the probability that a uniformly random n-subset of the pool
/// has sample i as its best. The binomial ratio is computed in log space with `lgamma`, so N in the
/// tens of thousands is fine. The KL bound is exact when the reward has no ties under π_ref and an
/// upper bound otherwise (Beirami et al. 2024).
///
/// **Ties** in the proxy rank the earlier sample higher, in the estimator as in `select` (the first
/// best is chosen), so n = N gives exactly the gold score of `select`'s choice. In `distribution`
/// a tied best is chosen in proportion to π_ref.
///
/// ```swift
/// BestOfN.klBound(n: 16)                                            // 1.835 nats
/// BestOfN.unbiasedEstimate(proxy: [0.3, 1.2, -0.5, 0.8], gold: [0.1, 0.4, 0.0, 0.9], n: 2)
/// BestOfN.select(scores: [0.1, 0.9, 0.4, 0.4], groupSize: 2)        // [1, 2]
/// ```
public enum BestOfN {
    /// KL_bon(n) = log n − (n − 1)/n in nats (0 at n = 1; 0.193 at 2; 5.909 at 1000).
    ///
    /// - Precondition: n ≥ 1.
    public static func klBound(n: Int) -> Double {
        precondition(n >= 1, "BestOfN.klBound: n = \(n) < 1")
        return log(Double(n)) - Double(n - 1) / Double(n)
    }

    /// The estimator's weights C(i−1, n−1)/C(N, n) for ranks i = 1…N (index i − 1), ascending
    /// proxy order: zero below rank n, ≥ 0, summing to 1; n = 1 gives 1/N each, n = N puts all
    /// the weight on the top rank.
    ///
    /// - Precondition: 1 ≤ n ≤ N.
    public static func estimatorWeights(count N: Int, n: Int) -> [Double] {
        precondition(n >= 1 && n <= N, "BestOfN.estimatorWeights: n = \(n) outside 1…\(N)")
        // log C(N, n), shared by every rank.
        let logTotal = logBinomial(N, n)
        return (1...N).map { i in
            i < n ? 0 : exp(logBinomial(i - 1, n - 1) - logTotal)
        }
    }

    /// The unbiased estimate of the mean gold score of best-of-n (by proxy) for one prompt's pool
    /// of N samples: Σ_i w_i·G_(i), ranks by proxy ascending. The same call with `gold: proxy`
    /// gives the proxy curve.
    ///
    /// - Precondition: equal counts; 1 ≤ n ≤ N; no NaN proxy score.
    public static func unbiasedEstimate(proxy: [Double], gold: [Double], n: Int) -> Double {
        let N = proxy.count
        precondition(gold.count == N, "BestOfN.unbiasedEstimate: \(N) proxy vs \(gold.count) gold scores")
        precondition(n >= 1 && n <= N, "BestOfN.unbiasedEstimate: n = \(n) outside 1…\(N)")
        precondition(!proxy.contains { $0.isNaN }, "BestOfN.unbiasedEstimate: NaN proxy score")
        let order = ascendingRanks(proxy)
        let weights = estimatorWeights(count: N, n: n)
        var estimate = 0.0
        for (rank, index) in order.enumerated() where weights[rank] != 0 {
            estimate += weights[rank] * gold[index]
        }
        return estimate
    }

    /// The unbiased estimate averaged over prompts, each with a pool of `groupSize` consecutive
    /// samples.
    ///
    /// - Precondition: equal counts, a positive multiple of `groupSize`; 1 ≤ n ≤ `groupSize`.
    public static func unbiasedEstimate(proxy: [Double], gold: [Double], n: Int, groupSize: Int) -> Double {
        precondition(groupSize >= 1 && !proxy.isEmpty && proxy.count % groupSize == 0,
                     "BestOfN.unbiasedEstimate: \(proxy.count) scores is not a positive multiple of the pool size \(groupSize)")
        precondition(gold.count == proxy.count, "BestOfN.unbiasedEstimate: \(proxy.count) proxy vs \(gold.count) gold scores")
        var total = 0.0
        for start in stride(from: 0, to: proxy.count, by: groupSize) {
            total += unbiasedEstimate(proxy: Array(proxy[start..<(start + groupSize)]),
                                      gold: Array(gold[start..<(start + groupSize)]), n: n)
        }
        return total / Double(proxy.count / groupSize)
    }

    /// The index into `scores` of the best sample of each group of `groupSize` consecutive
    /// samples, the first one on ties (indices are global, not within the group).
    ///
    /// - Precondition: `groupSize` ≥ 1; a positive multiple of `groupSize` scores; no NaN.
    public static func select(scores: [Double], groupSize: Int) -> [Int] {
        precondition(groupSize >= 1 && !scores.isEmpty && scores.count % groupSize == 0,
                     "BestOfN.select: \(scores.count) scores is not a positive multiple of the group size \(groupSize)")
        precondition(!scores.contains { $0.isNaN }, "BestOfN.select: NaN score")
        return stride(from: 0, to: scores.count, by: groupSize).map { start in
            var best = start
            for j in (start + 1)..<(start + groupSize) where scores[j] > scores[best] { best = j }
            return best
        }
    }

    /// The exact best-of-n distribution over a finite support: draw n i.i.d. from π_ref, keep the
    /// highest reward; a tied best is split in proportion to π_ref.
    ///
    /// - Parameters:
    ///   - p: π_ref(y) per outcome (≥ 0, summing to 1).
    ///   - r: the reward of each outcome.
    ///   - n: the number of draws.
    /// - Precondition: equal, non-zero counts; p ≥ 0 summing to 1 within 1e-9; n ≥ 1; no NaN reward.
    public static func distribution(referenceProbabilities p: [Double], rewards r: [Double], n: Int) -> [Double] {
        precondition(!p.isEmpty && p.count == r.count, "BestOfN.distribution: \(p.count) probabilities vs \(r.count) rewards")
        precondition(n >= 1, "BestOfN.distribution: n = \(n) < 1")
        precondition(p.allSatisfy { $0 >= 0 } && abs(p.reduce(0, +) - 1) < 1e-9,
                     "BestOfN.distribution: probabilities must be ≥ 0 and sum to 1")
        precondition(!r.contains { $0.isNaN }, "BestOfN.distribution: NaN reward")
        let order = r.indices.sorted { r[$0] < r[$1] }
        var result = [Double](repeating: 0, count: p.count)
        var below = 0.0   // F(level⁻)
        var start = 0
        while start < order.count {
            var end = start
            var mass = 0.0
            while end < order.count && r[order[end]] == r[order[start]] {
                mass += p[order[end]]
                end += 1
            }
            let upTo = min(below + mass, 1)   // F(level)
            let levelMass = pow(upTo, Double(n)) - pow(below, Double(n))
            if mass > 0 {
                for k in start..<end { result[order[k]] = levelMass * p[order[k]] / mass }
            }
            below = upTo
            start = end
        }
        return result
    }

    /// KL(π_bon‖π_ref) in nats for the exact best-of-n distribution of `distribution(…)`; at most
    /// `klBound(n)`, equal to it only in the tie-free continuous limit.
    ///
    /// - Precondition: as for `distribution`.
    public static func exactKL(referenceProbabilities p: [Double], rewards r: [Double], n: Int) -> Double {
        let bon = distribution(referenceProbabilities: p, rewards: r, n: n)
        var kl = 0.0
        for y in p.indices where bon[y] > 0 { kl += bon[y] * log(bon[y] / p[y]) }
        return kl
    }

    /// Indices of `scores` from the lowest rank to the highest; equal scores rank the earlier
    /// index higher.
    static func ascendingRanks(_ scores: [Double]) -> [Int] {
        scores.indices.sorted { a, b in scores[a] < scores[b] || (scores[a] == scores[b] && a > b) }
    }

    /// log C(a, b) via lgamma.
    static func logBinomial(_ a: Int, _ b: Int) -> Double {
        lgamma(Double(a) + 1) - lgamma(Double(b) + 1) - lgamma(Double(a - b) + 1)
    }
}
