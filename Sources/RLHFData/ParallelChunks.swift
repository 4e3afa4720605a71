import Dispatch
import Foundation

/// Coarse-grained data parallelism for per-record work (parsing lines, tokenizing records).
enum ParallelChunks {
    /// `body` over consecutive ranges covering `0..<count`, run with `DispatchQueue.concurrentPerform`;
    /// the results are in range order. A few chunks per core keep the cores busy when records
    /// differ in cost; at least `minimumChunk` items per chunk keep the overhead negligible.
    static func map<R>(count: Int, minimumChunk: Int, _ body: (Range<Int>) -> R) -> [R] {
        guard count > 0 else { return [] }
        let cores = ProcessInfo.processInfo.activeProcessorCount
        let chunkCount = max(1, min(cores * 4, count / max(1, minimumChunk)))
        if chunkCount == 1 { return [body(0..<count)] }
        let results = UnsafeMutableBufferPointer<R?>.allocate(capacity: chunkCount)
        results.initialize(repeating: nil)
        defer {
            _ = results.deinitialize()
            results.deallocate()
        }
        withoutActuallyEscaping(body) { body in
            // Each chunk writes only its own slot; `body` is called concurrently by contract.
            nonisolated(unsafe) let body = body, results = results
            DispatchQueue.concurrentPerform(iterations: chunkCount) { chunk in
                let range = (count * chunk / chunkCount)..<(count * (chunk + 1) / chunkCount)
                results[chunk] = body(range)
            }
        }
        return results.map { $0! }
    }
}
