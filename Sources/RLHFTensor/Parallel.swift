import Dispatch

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Coarse-grained data parallelism over the machine's cores.
public enum Parallel {
    /// Number of worker threads used by ``forEachChunk(count:minimumChunk:_:)``.
    /// Defaults to the number of active processors; `RLHF_THREADS` overrides it.
    public static let threadCount: Int = {
        if let text = getenv("RLHF_THREADS"), let value = Int(String(cString: text)), value > 0 {
            return value
        }
        return max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN)))
    }()

    /// Splits `0..<count` into at most ``threadCount`` contiguous ranges of at least `minimumChunk`
    /// items and runs `body` on each range, in parallel when there is more than one.
    @inlinable
    public static func forEachChunk(
        count: Int, minimumChunk: Int = 1, _ body: @Sendable (Range<Int>) -> Void
    ) {
        guard count > 0 else { return }
        let chunks = max(1, min(threadCount, count / max(1, minimumChunk)))
        if chunks == 1 {
            body(0..<count)
            return
        }
        DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
            let start = count * chunk / chunks
            let end = count * (chunk + 1) / chunks
            body(start..<end)
        }
    }

    /// Runs `body(i)` for every `i` in `0..<count`, spreading the indices over the cores.
    /// Use for a few coarse tasks (e.g. one per batch row and head), not per element.
    @inlinable
    public static func forEach(count: Int, _ body: @Sendable (Int) -> Void) {
        guard count > 0 else { return }
        if count == 1 || threadCount == 1 {
            for index in 0..<count { body(index) }
            return
        }
        DispatchQueue.concurrentPerform(iterations: count, execute: body)
    }
}
