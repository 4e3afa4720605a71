import Foundation
@testable import RLHFAlignment
import Testing

@Suite("Best-of-n: KL bound, unbiased estimator, exact distributions, selection")
struct BestOfNTests {
    // MARK: §11 item 1

    @Test func klBoundMatchesTheTable() {
        #expect(BestOfN.klBound(n: 1) == 0)
        #expect(isClose(BestOfN.klBound(n: 2), log(2.0) - 0.5))
        #expect(abs(BestOfN.klBound(n: 2) - 0.19315) < 1e-5)
        let table: [(Int, Double)] = [(8, 1.204), (16, 1.835), (64, 3.175), (256, 4.549), (1000, 5.9088),
                                      (2048, 6.625), (12500, 8.4336), (60000, 10.0021)]
        for (n, expected) in table {
            #expect(abs(BestOfN.klBound(n: n) - expected) < 1e-3 * 0.51, "n = \(n)")
        }
        #expect(abs(BestOfN.klBound(n: 1000) - 5.9088) < 1e-4)
        #expect(abs(BestOfN.klBound(n: 12500) - 8.4336) < 1e-4)
        #expect(abs(BestOfN.klBound(n: 60000) - 10.0021) < 1e-4)
        var previous = -1.0
        for n in [Array(1...200), [1000, 2048, 12500, 60000]].joined() {
            let kl = BestOfN.klBound(n: n)
            #expect(kl > previous)
            previous = kl
        }
    }

    // MARK: §11 items 2–3

    /// Tie-free uniform support of M outcomes: the exact KL stays below the bound and approaches it
    /// as M grows (the continuous density n·u^{n−1} gives exactly log n − (n−1)/n; n = 8: 1.20444).
    @Test func exactKLOnATieFreeSupportApproachesTheBoundFromBelow() {
        let n = 8
        var previous = 0.0
        for M in [10, 100, 1000] {
            let p = [Double](repeating: 1 / Double(M), count: M)
            let rewards = (0..<M).map { Double(($0 * 7919) % M) }   // distinct, shuffled
            let kl = BestOfN.exactKL(referenceProbabilities: p, rewards: rewards, n: n)
            #expect(kl < BestOfN.klBound(n: n))
            #expect(kl > previous)
            previous = kl
        }
        #expect(abs(previous - 1.20444) < 1e-5)
        #expect(BestOfN.klBound(n: n) - previous < 1e-5)
        // The exact distribution on a tie-free support: π_bon(k-th lowest) = (k/M)^n − ((k−1)/M)^n.
        let bon = BestOfN.distribution(referenceProbabilities: [0.25, 0.25, 0.25, 0.25], rewards: [3, 1, 4, 2], n: 3)
        #expect(isClose(bon[1], pow(0.25, 3)) && isClose(bon[2], 1 - pow(0.75, 3)))
        #expect(isClose(bon.reduce(0, +), 1))
    }

    /// Binary outcome with p = ½: KL = log 2 − H_b(2^{−n}) < kl_bon(n) (n = 2: 0.1308 vs 0.1931),
    /// and the same with the tie spread over several outcomes.
    @Test(arguments: [2, 3, 5, 10])
    func tiedRewardsGiveLessThanTheBound(n: Int) {
        let q = pow(2.0, -Double(n))
        let entropy = -q * log(q) - (1 - q) * log(1 - q)
        let binary = BestOfN.exactKL(referenceProbabilities: [0.5, 0.5], rewards: [0, 1], n: n)
        #expect(isClose(binary, log(2.0) - entropy))
        #expect(binary < BestOfN.klBound(n: n))
        #expect(binary < log(2.0))
        let tied = BestOfN.exactKL(referenceProbabilities: [0.125, 0.375, 0.1, 0.4], rewards: [0, 0, 1, 1], n: n)
        // Outcomes (0, 1) and (2, 3) each carry ½ in total; within a tie the best is split ∝ π_ref.
        let bon = BestOfN.distribution(referenceProbabilities: [0.125, 0.375, 0.1, 0.4], rewards: [0, 0, 1, 1], n: n)
        #expect(isClose(tied, binary))
        #expect(isClose(bon[3] / bon[2], 4) && isClose(bon[0] + bon[1], q))
        if n == 2 {
            #expect(abs(binary - 0.1308) < 1e-4)
            #expect(abs(BestOfN.klBound(n: 2) - 0.1931) < 1e-4)
        }
    }

    // MARK: §11 items 4–5

    let proxy: [Double] = [0.31, -1.20, 2.05, 0.77, -0.05, 1.42, 0.12]
    let gold: [Double] = [0.50, -0.30, -1.10, 1.30, 0.00, 0.90, -0.40]

    /// The estimator equals the mean over all C(7, 3) = 35 subsets of the gold score of the
    /// subset's best-by-proxy sample.
    @Test(arguments: 1...7)
    func estimatorEqualsTheBruteForceMeanOverAllSubsets(n: Int) {
        var total = 0.0, count = 0
        func visit(_ start: Int, _ chosen: [Int]) {
            if chosen.count == n {
                let best = chosen.max { proxy[$0] < proxy[$1] }!
                total += gold[best]
                count += 1
                return
            }
            guard start < proxy.count else { return }
            for i in start..<proxy.count { visit(i + 1, chosen + [i]) }
        }
        visit(0, [])
        #expect(count == [7, 21, 35, 35, 21, 7, 1][n - 1])
        #expect(isClose(BestOfN.unbiasedEstimate(proxy: proxy, gold: gold, n: n), total / Double(count), tolerance: 1e-12))
    }

    @Test func estimatorEndpointsAndWeights() {
        #expect(isClose(BestOfN.unbiasedEstimate(proxy: proxy, gold: gold, n: 1), gold.reduce(0, +) / 7))
        #expect(BestOfN.unbiasedEstimate(proxy: proxy, gold: gold, n: 7) == gold[2])   // top proxy 2.05
        for (N, n) in [(7, 3), (10, 1), (10, 10), (200, 37), (12_600, 12_500), (12_600, 64)] {
            let w = BestOfN.estimatorWeights(count: N, n: n)
            #expect(w.count == N && w.allSatisfy { $0 >= 0 && $0.isFinite })
            #expect(isClose(w.reduce(0, +), 1, tolerance: 1e-9), "N = \(N), n = \(n)")
            #expect(w[..<(n - 1)].allSatisfy { $0 == 0 })
        }
        // The same weights give the proxy curve, which rises with n.
        let curve = (1...7).map { BestOfN.unbiasedEstimate(proxy: proxy, gold: proxy, n: $0) }
        #expect(zip(curve, curve.dropFirst()).allSatisfy { $0 < $1 })
        // Several prompts: the mean of the per-pool estimates.
        let two = BestOfN.unbiasedEstimate(proxy: proxy + proxy.reversed(), gold: gold + gold.reversed(), n: 3, groupSize: 7)
        #expect(isClose(two, BestOfN.unbiasedEstimate(proxy: proxy, gold: gold, n: 3)))
    }

    /// Monte-Carlo best-of-n (random n-subsets of the pool, best by proxy) agrees with the
    /// estimator within 4 standard errors.
    @Test func monteCarloAgreesWithTheEstimator() {
        let N = 40, n = 5, draws = 20_000
        let pool = uniformValues(N, seed: 51, in: -2...2)
        let goldScores = zip(pool, uniformValues(N, seed: 52, in: -1...1)).map { $0 - 0.3 * $0 * $0 + $1 }
        var generator = SplitMix64(seed: 53)
        var sum = 0.0, sumOfSquares = 0.0
        var indices = Array(0..<N)
        for _ in 0..<draws {
            for j in 0..<n { indices.swapAt(j, j + generator.nextIndex(below: N - j)) }   // partial Fisher–Yates
            let best = indices[0..<n].max { pool[$0] < pool[$1] }!
            sum += goldScores[best]
            sumOfSquares += goldScores[best] * goldScores[best]
        }
        let mean = sum / Double(draws)
        let standardError = ((sumOfSquares / Double(draws) - mean * mean) / Double(draws)).squareRoot()
        let estimate = BestOfN.unbiasedEstimate(proxy: pool, gold: goldScores, n: n)
        #expect(abs(mean - estimate) < 4 * standardError, "\(mean) vs \(estimate) ± \(standardError)")
    }

    // MARK: Selection and ties

    @Test func selectReturnsTheFirstBestIndexOfEachGroup() {
        #expect(BestOfN.select(scores: [0.1, 0.9, 0.4, 0.4, -1, -2], groupSize: 2) == [1, 2, 4])
        #expect(BestOfN.select(scores: [3, 1, 3, 2], groupSize: 4) == [0])
        #expect(BestOfN.select(scores: [5, 6], groupSize: 1) == [0, 1])
    }

    /// Tied proxies rank the earlier sample higher, so n = N picks `select`'s choice.
    @Test func estimatorBreaksTiesLikeSelect() {
        let tiedProxy: [Double] = [1, 3, 2, 3], tiedGold: [Double] = [0, 10, 5, 20]
        #expect(BestOfN.unbiasedEstimate(proxy: tiedProxy, gold: tiedGold, n: 4) == tiedGold[BestOfN.select(scores: tiedProxy, groupSize: 4)[0]])
        #expect(BestOfN.ascendingRanks(tiedProxy) == [0, 2, 3, 1])
    }
}
