import Dispatch
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import RLHFTensor
import Synchronization
import Testing

/// ``Parallel`` runs every index exactly once — on the worker pool, when regions nest (the inner
/// one falls back to dispatch), and when several threads start regions at the same time.
@Suite("Parallel regions")
struct ParallelTests {
    /// Counts how often each index ran.
    final class Tally: @unchecked Sendable {
        let counts: UnsafeMutableBufferPointer<Atomic<Int>>
        init(_ n: Int) {
            counts = .allocate(capacity: n)
            for i in 0..<n { (counts.baseAddress! + i).initialize(to: Atomic(0)) }
        }
        func hit(_ i: Int) { counts[i].add(1, ordering: .relaxed) }
        func all(equal value: Int) -> Bool { counts.indices.allSatisfy { counts[$0].load(ordering: .relaxed) == value } }
        deinit { counts.deallocate() }
    }

    @Test func everyIndexRunsOnce() {
        for count in [1, 2, 3, 7, 64, 1000] {
            let tally = Tally(count)
            Parallel.forEach(count: count) { tally.hit($0) }
            #expect(tally.all(equal: 1), "forEach(count: \(count))")
            let chunks = Tally(count)
            Parallel.forEachChunk(count: count, minimumChunk: 3) { range in for i in range { chunks.hit(i) } }
            #expect(chunks.all(equal: 1), "forEachChunk(count: \(count))")
        }
    }

    @Test func manyShortRegionsInARow() {
        let tally = Tally(16)
        for _ in 0..<20_000 { Parallel.forEach(count: 16) { tally.hit($0) } }
        #expect(tally.all(equal: 20_000))
        // Pauses longer than the workers' spin, so they go to sleep and are woken for the next region.
        let later = Tally(16)
        for _ in 0..<5 {
            usleep(2_000)
            Parallel.forEach(count: 16) { later.hit($0) }
        }
        #expect(later.all(equal: 5))
    }

    @Test func nestedRegions() {
        let tally = Tally(8 * 32)
        Parallel.forEach(count: 8) { outer in
            Parallel.forEachChunk(count: 32) { range in for inner in range { tally.hit(outer * 32 + inner) } }
        }
        #expect(tally.all(equal: 1))
    }

    @Test func regionsFromSeveralThreadsAtOnce() {
        let tally = Tally(4 * 100)
        DispatchQueue.concurrentPerform(iterations: 4) { thread in
            for round in 0..<500 {
                Parallel.forEach(count: 100) { i in if round == 0 { tally.hit(thread * 100 + i) } }
            }
        }
        #expect(tally.all(equal: 1))
    }
}
