import Dispatch

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Coarse-grained data parallelism over the machine's cores.
///
/// Work goes to a pool of persistent threads (``WorkerPool``: the caller plus `threadCount − 1`
/// workers that spin briefly between jobs, so short back-to-back regions start at once); when the
/// pool is already busy (a region started inside another, or from a second thread) the region runs
/// on `DispatchQueue.concurrentPerform` instead.
public enum Parallel {
    /// Number of worker threads used by ``forEachChunk(count:minimumChunk:_:)``.
    /// Defaults to the number of active processors; `RLHF_THREADS` overrides it.
    public static let threadCount: Int = {
        if let text = getenv("RLHF_THREADS"), let value = Int(String(cString: text)), value > 0 {
            return value
        }
        return max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN)))
    }()

    /// The persistent workers (none on one thread; `RLHF_WORKER_POOL=off` disables them).
    static let pool: WorkerPool? = {
        if let setting = getenv("RLHF_WORKER_POOL"), String(cString: setting).lowercased() == "off" { return nil }
        return threadCount > 1 ? WorkerPool(workerCount: threadCount - 1) : nil
    }()

    /// Runs `body(i)` for `i` in `0..<count` in parallel: on the pool when it is free, else
    /// dispatch; on this thread, in order, inside ``serially(_:)``.
    @usableFromInline
    static func run(count: Int, _ body: @Sendable (Int) -> Void) {
        if pthread_getspecific(serialKey) != nil {
            for index in 0..<count { body(index) }
            return
        }
        if let pool, pool.run(count: count, body) { return }
        DispatchQueue.concurrentPerform(iterations: count, execute: body)
    }

    /// The thread-local mark of ``serially(_:)``.
    static let serialKey: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key, nil)
        return key
    }()

    /// Runs `body` with every parallel region it starts executed on the calling thread, in order.
    /// The regions keep their ``threadCount`` chunks, so the arithmetic — and every result — is
    /// the same as in parallel; what changes is only where it runs. For running several small,
    /// independent jobs side by side (one per core) where each alone cannot use the cores well.
    public static func serially<Result>(_ body: () throws -> Result) rethrows -> Result {
        let previous = pthread_getspecific(serialKey)
        pthread_setspecific(serialKey, UnsafeRawPointer(bitPattern: 1))
        defer { pthread_setspecific(serialKey, previous) }
        return try body()
    }

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
        run(count: chunks) { chunk in
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
        run(count: count, body)
    }
}
