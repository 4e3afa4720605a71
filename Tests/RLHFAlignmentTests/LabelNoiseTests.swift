import RLHFAlignment
import Testing

@Suite("Seeded label noise and SplitMix64")
struct LabelNoiseTests {
    @Test func splitMix64MatchesTheReferenceStream() {
        var generator = SplitMix64(seed: 0)
        #expect(generator.next() == 0xE220_A839_7B1D_CDAF)
        #expect(generator.next() == 0x6E78_9E6A_A1B9_65F4)
        #expect(generator.next() == 0x06C4_5D18_8009_454F)
        for _ in 0..<1000 {
            let u = generator.nextUniform()
            #expect(u >= 0 && u < 1)
            let index = generator.nextIndex(below: 7)
            #expect((0..<7).contains(index))
        }
        #expect(generator.nextIndex(below: 1) == 0)
    }

    @Test func flipsExactlyTheRoundedShareOfPairs() {
        for count in [0, 1, 2, 7, 10, 33, 100] {
            for rate in [0, 0.05, 0.1, 0.25, 0.5, 0.9, 1] {
                let indices = LabelNoise.flippedIndices(count: count, rate: rate, seed: 42)
                let expected = Int((rate * Double(count)).rounded(.toNearestOrEven))
                #expect(indices.count == expected, "N = \(count), ε = \(rate)")
                #expect(indices == indices.sorted() && Set(indices).count == indices.count)
                #expect(indices.allSatisfy { (0..<count).contains($0) })
            }
        }
        #expect(LabelNoise.flippedIndices(count: 9, rate: 1, seed: 3) == Array(0..<9))
        #expect(LabelNoise.flippedIndices(count: 9, rate: 0, seed: 3).isEmpty)
    }

    @Test func halfwayCountsRoundToEven() {
        #expect(LabelNoise.flipCount(count: 10, rate: 0.25) == 2)   // 2.5
        #expect(LabelNoise.flipCount(count: 14, rate: 0.25) == 4)   // 3.5
        #expect(LabelNoise.flipCount(count: 6, rate: 0.25) == 2)    // 1.5
        #expect(LabelNoise.flipCount(count: 2, rate: 0.25) == 0)    // 0.5
        #expect(LabelNoise.flipCount(count: 400, rate: 0.25) == 100)
    }

    @Test func isDeterministicPerSeedAndDiffersAcrossSeeds() {
        let first = LabelNoise.flippedIndices(count: 100, rate: 0.3, seed: 1)
        #expect(LabelNoise.flippedIndices(count: 100, rate: 0.3, seed: 1) == first)
        let draws = (UInt64(0)..<8).map { LabelNoise.flippedIndices(count: 100, rate: 0.3, seed: $0) }
        #expect(Set(draws).count == draws.count)
    }

    @Test func everyPairIsEquallyLikelyToBeFlipped() {
        // N = 10, ε = 0.3: each index is flipped in 30% of 2,000 seeds (σ ≈ 20.5 flips).
        var hits = [Int](repeating: 0, count: 10)
        for seed in UInt64(0)..<2000 {
            for i in LabelNoise.flippedIndices(count: 10, rate: 0.3, seed: seed) { hits[i] += 1 }
        }
        #expect(hits.allSatisfy { abs($0 - 600) < 100 }, "\(hits)")
    }
}
