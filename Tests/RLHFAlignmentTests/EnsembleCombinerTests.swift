import Foundation
import RLHFAlignment
import Testing

@Suite("Reward-model ensembles: mean, WCO, UWO")
struct EnsembleCombinerTests {
    /// Five members' scores on 40 inputs, raw and unnormalised.
    let members = (UInt64(0)..<5).map { uniformValues(40, seed: 100 + $0, in: -3...3) }

    func column(_ j: Int) -> [Double] { members.map { $0[j] } }

    @Test func worstCaseIsAtMostTheMeanWhichIsAtMostTheMaximum() {
        for j in 0..<40 {
            let scores = column(j)
            let wco = EnsembleCombiner.worstCase.combine(scores)
            let mean = EnsembleCombiner.mean.combine(scores)
            #expect(wco == scores.min())
            #expect(wco <= mean && mean <= scores.max()!)
        }
    }

    @Test func uncertaintyWeightingStartsAtTheMeanAndDecreasesInLambda() {
        for convention in VarianceConvention.allCases {
            for j in 0..<40 {
                let scores = column(j)
                let mean = EnsembleCombiner.mean.combine(scores)
                #expect(EnsembleCombiner.uncertaintyWeighted(lambda: 0, variance: convention).combine(scores) == mean)
                var previous = mean
                for lambda in [0.05, 0.1, 0.5, 1, 4] {
                    let uwo = EnsembleCombiner.uncertaintyWeighted(lambda: lambda, variance: convention).combine(scores)
                    #expect(uwo <= mean && uwo < previous)
                    previous = uwo
                }
            }
        }
    }

    @Test func identicalMembersMakeEveryCombinerReturnTheMemberScore() {
        for score in [-2.5, 0, 0.1, 7] {
            let scores = [Double](repeating: score, count: 5)
            let combiners: [EnsembleCombiner] = [
                .mean, .worstCase, .uncertaintyWeighted(lambda: 0.5), .uncertaintyWeighted(lambda: 0.5, variance: .sample),
            ]
            for combiner in combiners { #expect(isClose(combiner.combine(scores), score, tolerance: 1e-15)) }
        }
    }

    @Test func isInvariantToMemberOrder() {
        let combiners: [EnsembleCombiner] = [.mean, .worstCase, .uncertaintyWeighted(lambda: 0.5), .uncertaintyWeighted(lambda: 0.1, variance: .sample)]
        var generator = SplitMix64(seed: 9)
        for j in 0..<40 {
            let scores = column(j)
            let permuted = scores.shuffled(using: &generator)
            for combiner in combiners {
                #expect(isClose(combiner.combine(permuted), combiner.combine(scores), tolerance: 1e-14))
                #expect(isClose(combiner.combine(scores.reversed()), combiner.combine(scores), tolerance: 1e-14))
            }
        }
    }

    @Test func twoMembersHaveVarianceTermAQuarterOfTheSquaredGap() {
        for (r1, r2) in [(0.0, 1.0), (-1.5, 2.5), (3.0, 3.0), (0.2, -0.7)] {
            let scores = [r1, r2]
            let penalty = EnsembleCombiner.mean.combine(scores) - EnsembleCombiner.uncertaintyWeighted(lambda: 1).combine(scores)
            #expect(isClose(penalty, (r1 - r2) * (r1 - r2) / 4, tolerance: 1e-14))
            #expect(isClose(EnsembleCombiner.variance(scores, convention: .sample), (r1 - r2) * (r1 - r2) / 2, tolerance: 1e-14))
        }
    }

    @Test func varianceConventionIsExplicit() {
        #expect(EnsembleCombiner.variance([0, 1, 2, 3, 4], convention: .population) == 2.0)
        #expect(EnsembleCombiner.variance([0, 1, 2, 3, 4], convention: .sample) == 2.5)
        #expect(EnsembleCombiner.variance([5], convention: .population) == 0)
        // The default convention is the population variance (Coste et al. Eq. 5).
        #expect(EnsembleCombiner.uncertaintyWeighted(lambda: 0.5) == .uncertaintyWeighted(lambda: 0.5, variance: .population))
        // The sample convention is the population one with λ scaled by k/(k − 1) (1.25 for k = 5).
        for j in 0..<10 {
            let scores = column(j)
            let sample = EnsembleCombiner.uncertaintyWeighted(lambda: 0.1, variance: .sample).combine(scores)
            let population = EnsembleCombiner.uncertaintyWeighted(lambda: 0.125, variance: .population).combine(scores)
            #expect(isClose(sample, population, tolerance: 1e-14))
        }
    }

    @Test func combinesMembersTimesInputs() {
        for combiner in [EnsembleCombiner.mean, .worstCase, .uncertaintyWeighted(lambda: 0.5)] {
            let combined = combiner.combine(members: members)
            #expect(combined.count == 40)
            for j in 0..<40 { #expect(combined[j] == combiner.combine(column(j))) }
        }
        #expect(EnsembleCombiner.mean.combine(members: [[1, 0], [3, 0]]) == [2, 0])
        #expect(EnsembleCombiner.uncertaintyWeighted(lambda: 0.5).combine(members: [[1, 0], [3, 0]]) == [1.5, 0])
        #expect(EnsembleCombiner.worstCase.combine(members: [[], []]).isEmpty)
    }

    @Test func parsesNamesAndAliases() {
        #expect(EnsembleCombiner(name: "mean", lambda: 0.5) == .mean)
        #expect(EnsembleCombiner(name: "wco", lambda: 0.5) == .worstCase)
        #expect(EnsembleCombiner(name: "worst-case", lambda: 0.5) == .worstCase)
        #expect(EnsembleCombiner(name: "uwo", lambda: 0.5) == .uncertaintyWeighted(lambda: 0.5, variance: .population))
        #expect(EnsembleCombiner(name: "Uncertainty-Weighted", lambda: 0.1, variance: .sample) == .uncertaintyWeighted(lambda: 0.1, variance: .sample))
        #expect(EnsembleCombiner(name: "median", lambda: 0.5) == nil)
        #expect(EnsembleCombiner(name: "uwo", lambda: -0.1) == nil)
        #expect(EnsembleCombiner(name: "uwo", lambda: .nan) == nil)
        for combiner in [EnsembleCombiner.mean, .worstCase, .uncertaintyWeighted(lambda: 0.5)] {
            #expect(EnsembleCombiner(name: combiner.name, lambda: 0.5) == combiner)
        }
    }

    @Test func roundTripsThroughJSON() throws {
        let combiners: [EnsembleCombiner] = [.mean, .worstCase, .uncertaintyWeighted(lambda: 0.1, variance: .sample)]
        let data = try JSONEncoder().encode(combiners)
        #expect(try JSONDecoder().decode([EnsembleCombiner].self, from: data) == combiners)
    }
}
