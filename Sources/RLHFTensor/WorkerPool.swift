import CRLHFKernels
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Persistent worker threads for ``Parallel``: the caller posts a job of `count` tasks, works on it
/// itself, and the workers join in.
///
/// Why not `DispatchQueue.concurrentPerform` alone: a decoding step runs ~150 parallel regions of
/// 10–100 µs each, and waking a parked dispatch worker (a futex wake, on a VM an inter-processor
/// interrupt) cost ~20 µs per region — 7% of a batch-16 sampling step. Here idle workers first
/// spin for ``spinDuration`` (with the CPU's pause hint) and only then sleep on a condition
/// variable, so back-to-back regions start at once while an idle process still goes quiet.
///
/// One job at a time: a call made while a job is running (from another thread, or from inside a
/// task) gets `false` from ``run(count:_:)`` and the caller falls back to other means, so there is
/// no deadlock and no nesting. Tasks are claimed dynamically (an atomic counter), so the results
/// never depend on which thread ran which task.
final class WorkerPool: @unchecked Sendable {
    /// How long an idle worker polls for the next job before it sleeps.
    static let spinDuration: Double = 0.0003

    let workerCount: Int
    /// Incremented per job; workers wait for it to change.
    private let generation = Atomic<Int>(0)
    /// True while the current job accepts workers; cleared by the submitter before it returns.
    private let open = Atomic<Bool>(false)
    /// Workers currently inside a job.
    private let inside = Atomic<Int>(0)
    private let nextTask = Atomic<Int>(0)
    private let finishedTasks = Atomic<Int>(0)
    /// Workers blocked on the condition variable.
    private let sleepers = Atomic<Int>(0)
    /// Held by the thread that has a job in the pool.
    private let busy = Atomic<Bool>(false)
    // The job, written by the submitter before `open` is set and read by workers after they see it.
    private var taskCount = 0
    private var body: ((Int) -> Void)?
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let condition: UnsafeMutablePointer<pthread_cond_t>

    init(workerCount: Int) {
        self.workerCount = workerCount
        mutex = .allocate(capacity: 1)
        condition = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(condition, nil)
        for _ in 0..<workerCount { startWorker() }
    }

    /// Runs `body(i)` for `i` in `0..<count` on the caller and the workers; returns after all have
    /// finished. Returns false without running anything when the pool is busy with another job.
    func run(count: Int, _ body: (Int) -> Void) -> Bool {
        guard busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else { return false }
        withoutActuallyEscaping(body) { body in
            self.body = body
            taskCount = count
            nextTask.store(0, ordering: .relaxed)
            finishedTasks.store(0, ordering: .relaxed)
            open.store(true, ordering: .sequentiallyConsistent)
            generation.add(1, ordering: .sequentiallyConsistent)
            if sleepers.load(ordering: .sequentiallyConsistent) > 0 {
                pthread_mutex_lock(mutex)
                pthread_cond_broadcast(condition)
                pthread_mutex_unlock(mutex)
            }
            let done = claimTasks()
            if done < count {
                while finishedTasks.load(ordering: .acquiring) < count { rlhf_cpu_relax() }
            }
            // Close the job and wait for workers that entered it to leave before the job's closure
            // and counters are reused (a worker that arrives after this sees `open` false).
            open.store(false, ordering: .sequentiallyConsistent)
            while inside.load(ordering: .sequentiallyConsistent) > 0 { rlhf_cpu_relax() }
            self.body = nil
        }
        busy.store(false, ordering: .releasing)
        return true
    }

    /// Claims and runs tasks of the current job until none are left; returns the finished count
    /// as seen after this thread's last task.
    private func claimTasks() -> Int {
        guard let body else { return 0 }
        var finished = 0
        while true {
            let task = nextTask.add(1, ordering: .relaxed).oldValue
            guard task < taskCount else { break }
            body(task)
            finished = finishedTasks.add(1, ordering: .acquiringAndReleasing).newValue
        }
        return finished
    }

    private func workerLoop() {
        var seen = generation.load(ordering: .acquiring)
        while true {
            waitForJob(after: seen)
            seen = generation.load(ordering: .acquiring)
            inside.add(1, ordering: .sequentiallyConsistent)
            if open.load(ordering: .sequentiallyConsistent) { _ = claimTasks() }
            inside.subtract(1, ordering: .sequentiallyConsistent)
        }
    }

    /// Returns once `generation` differs from `seen`: spins first, then sleeps.
    private func waitForJob(after seen: Int) {
        let start = Self.now()
        var polls = 0
        while generation.load(ordering: .acquiring) == seen {
            rlhf_cpu_relax()
            polls += 1
            if polls & 255 == 0 && Self.now() - start > Self.spinDuration {
                pthread_mutex_lock(mutex)
                sleepers.add(1, ordering: .sequentiallyConsistent)
                while generation.load(ordering: .sequentiallyConsistent) == seen {
                    pthread_cond_wait(condition, mutex)
                }
                sleepers.subtract(1, ordering: .sequentiallyConsistent)
                pthread_mutex_unlock(mutex)
                return
            }
        }
    }

    private static func now() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) * 1e-9
    }

    private func startWorker() {
        let context = Unmanaged.passRetained(self).toOpaque()
        #if canImport(Glibc)
        var thread = pthread_t()
        #else
        var thread: pthread_t?
        #endif
        let result = pthread_create(&thread, nil, { context in
            #if canImport(Glibc)
            let pool = Unmanaged<WorkerPool>.fromOpaque(context!).takeUnretainedValue()
            #else
            let pool = Unmanaged<WorkerPool>.fromOpaque(context).takeUnretainedValue()
            #endif
            pool.workerLoop()
            return nil
        }, context)
        precondition(result == 0, "could not start a worker thread (pthread_create: \(result))")
        #if canImport(Glibc)
        pthread_detach(thread)
        #else
        if let thread { pthread_detach(thread) }
        #endif
    }
}
