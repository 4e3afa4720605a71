import Dispatch
import RLHFAlignment
import RLHFModel
import RLHFRollouts
import RLHFTensor
import Synchronization

/// An overoptimization experiment from start to finish (alignment-losses.md §6–8, §10):
///
///     stage 1 (ExperimentSetup) → every setting × RL seed (ExperimentRun)
///     → best-of-n curves from a fixed SFT pool → table, frontiers, Gao fits → ExperimentResults
///
/// Deterministic: the same configuration gives the same results, bit for bit.
public enum Experiment {
    /// What the experiment reports while it runs.
    public enum Event {
        case setup(ExperimentSetup.Event)
        /// A run starts: its index (0-based) among `total`.
        case runStarted(index: Int, total: Int, setting: ExperimentConfiguration.RunSetting, seed: UInt64)
        case runStep(index: Int, StepPoint, totalSteps: Int)
        case runFinished(index: Int, RunResult)
        case bestOfN(done: Int, total: Int)
    }

    /// Runs everything the configuration asks for. RL runs go `concurrentRuns` at a time, each on
    /// one thread (``Parallel/serially(_:)``): a small model cannot use two cores in one run, two
    /// runs side by side can, and the results are the same either way. `progress` is called from
    /// one thread at a time.
    public static func run(
        _ configuration: ExperimentConfiguration, goldSource: (any RewardSource)? = nil, concurrentRuns: Int = Parallel.threadCount,
        loadModel: (String) throws -> PretrainedModel, progress: (Event) -> Void
    ) throws -> ExperimentResults {
        let problems = configuration.problems
        guard problems.isEmpty else { throw ExperimentError.invalid(problems.joined(separator: "\n")) }
        let setup = try ExperimentSetup(configuration: configuration, goldSource: goldSource, loadModel: loadModel) { progress(.setup($0)) }
        let jobs = configuration.settings.flatMap { setting in
            (1...configuration.rlSeeds).map { (setting, configuration.seed &+ UInt64($0)) }
        }
        let runs = try runJobs(jobs, setup: setup, workers: max(1, min(concurrentRuns, jobs.count)), progress: progress)
        let bestOfN = try bestOfNCurves(setup: setup) { progress(.bestOfN(done: $0, total: $1)) }
        return results(configuration: configuration, setup: setup.summary, runs: runs, bestOfN: bestOfN)
    }

    /// Every (setting, seed) run, `workers` at a time; results in job order.
    static func runJobs(_ jobs: [(ExperimentConfiguration.RunSetting, UInt64)], setup: ExperimentSetup, workers: Int,
                        progress: (Event) -> Void) throws -> [RunResult] {
        let steps = setup.configuration.reinforcement.steps
        let board = JobBoard(count: jobs.count)
        nonisolated(unsafe) let report = progress
        nonisolated(unsafe) let shared = setup
        // Takes jobs until none is left; with one worker it runs here and its regions use every core.
        @Sendable func work() {
            while let index = board.take() {
                let (setting, seed) = jobs[index]
                board.serialized { report(.runStarted(index: index, total: jobs.count, setting: setting, seed: seed)) }
                do {
                    func run() throws -> RunResult {
                        try ExperimentRun.run(setup: shared, setting: setting, seed: seed) { point in
                            board.serialized { report(.runStep(index: index, point, totalSteps: steps)) }
                        }
                    }
                    let result = try workers == 1 ? run() : Parallel.serially(run)
                    board.serialized {
                        board.results[index] = result
                        report(.runFinished(index: index, result))
                    }
                } catch {
                    board.serialized { board.failure = board.failure ?? error }
                    board.stop()
                }
            }
        }
        // BLAS on one thread in every run, side by side or not, so results never depend on `workers`.
        BLASMatrixMultiplier.withSingleThreadedLibrary {
            if workers == 1 { work() } else { DispatchQueue.concurrentPerform(iterations: workers) { _ in work() } }
        }
        if let failure = board.failure { throw failure }
        return board.results.map { $0! }
    }

    /// Assembles the table, the matched-KL comparison and the frontiers from finished runs.
    public static func results(configuration: ExperimentConfiguration, setup: SetupSummary, runs: [RunResult],
                               bestOfN: BestOfNResult) -> ExperimentResults {
        let settings = configuration.settings
        let window = configuration.reinforcement.finalWindow
        let groups = settings.map { setting in runs.filter { $0.setting == setting } }
        // Compare at the KL every setting reaches on average (the lowest mean final KL).
        let matchedKL = groups.filter { !$0.isEmpty }.map { MeanStd($0.map(\.finalKL)).mean }.min() ?? 0
        let table = zip(settings, groups).compactMap { setting, runs -> TableRow? in
            guard let first = runs.first else { return nil }
            let drops = runs.map { $0.goldPeak - $0.finalGold }
            let rises = runs.map { run in run.finalProxy - (run.steps.prefix(window).map(\.proxy).reduce(0, +) / Double(max(1, min(window, run.steps.count)))) }
            let drop = MeanStd(drops)
            let matched = runs.compactMap { goldAtKL(matchedKL, run: $0, window: window) }
            return TableRow(
                setting: setting, proxy: MeanStd(runs.map(\.finalProxy)), gold: MeanStd(runs.map(\.finalGold)),
                kl: MeanStd(runs.map(\.finalKL)), goldPeak: MeanStd(runs.map(\.goldPeak)),
                goldAtMatchedKL: matched.isEmpty ? nil : MeanStd(matched),
                overoptimized: drop.mean > overoptimizationDrop && MeanStd(rises).mean > 0,
                sample: first.samples.last ?? TextSample(step: 0, prompt: "", response: "", proxy: .nan, gold: .nan))
        }
        return ExperimentResults(configuration: configuration, setup: setup, runs: runs, table: table, matchedKL: matchedKL,
                                 frontiers: frontiers(settings: settings, runs: runs, window: window), bestOfN: bestOfN)
    }

    /// How far (gold units, seeds averaged) the final gold must sit below the gold peak, with the
    /// proxy risen, for a row to be marked overoptimized.
    public static let overoptimizationDrop = 0.5

    /// Gold on the smoothed curve at the first step whose smoothed KL reaches `kl` (nil if none).
    static func goldAtKL(_ kl: Double, run: RunResult, window: Int) -> Double? {
        let kls = ExperimentRun.smoothed(run.steps.map(\.kl), window: window)
        let gold = ExperimentRun.smoothed(run.steps.map(\.gold), window: window)
        return kls.firstIndex { $0 >= kl }.map { gold[$0] }
    }

    /// Each algorithm's (KL, gold) points on the single proxy: seeds averaged step by step on the
    /// smoothed curves, every β, and Gao's RL form fitted on them all.
    static func frontiers(settings: [ExperimentConfiguration.RunSetting], runs: [RunResult], window: Int) -> [Frontier] {
        var algorithms = [String]()
        for setting in settings where setting.proxy == "single" && !algorithms.contains(setting.algorithm) { algorithms.append(setting.algorithm) }
        return algorithms.map { algorithm in
            var points = [Frontier.Point]()
            for setting in settings where setting.algorithm == algorithm && setting.proxy == "single" {
                let seeds = runs.filter { $0.setting == setting }
                guard let steps = seeds.map(\.steps.count).min(), steps > 0 else { continue }
                let kls = seeds.map { ExperimentRun.smoothed($0.steps.map(\.kl), window: window) }
                let golds = seeds.map { ExperimentRun.smoothed($0.steps.map(\.gold), window: window) }
                for t in 0..<steps {
                    points.append(Frontier.Point(beta: setting.beta, step: seeds[0].steps[t].step,
                                                 kl: MeanStd(kls.map { $0[t] }).mean, gold: MeanStd(golds.map { $0[t] }).mean))
                }
            }
            let usable = points.filter { $0.kl.isFinite && $0.gold.isFinite }
            let fit = GaoScalingLaw.fit(.reinforcement, distances: usable.map { GaoScalingLaw.distance(kl: $0.kl) }, gold: usable.map(\.gold))
            return Frontier(algorithm: algorithm, points: points, fit: fit)
        }
    }

    /// Best-of-n from the SFT policy: a pool of N samples for each prompt, scored once by gold and
    /// every proxy; for n = 1, 2, 4, … the unbiased estimator gives the proxy and gold of the best
    /// of n under each proxy, and Gao's best-of-n form is fitted to each gold curve.
    public static func bestOfNCurves(setup: ExperimentSetup, progress: (Int, Int) -> Void) throws -> BestOfNResult {
        let settings = setup.configuration.bestOfN
        let language = setup.language
        let N = settings.samplesPerPrompt
        let tokenizer = setup.policy.tokenizer!
        let prompts = (0..<settings.prompts).map { i in
            ExperimentSetup.prompt(id: 2_000_000 + i, product: language.products[i % language.products.count], language: language, tokenizer: tokenizer)
        }
        let sampler = ExperimentSetup.sampler(setup.configuration, samplesPerPrompt: N)
        var pool = [RolloutGenerator.Completion]()
        for (i, prompt) in prompts.enumerated() {
            pool += try sampler.generate(policy: setup.policy, prompts: [prompt], phase: 3)
            progress(i + 1, prompts.count)
        }
        let inputs = pool.map(\.rewardInput)
        let gold = try setup.gold.checkedScores(for: inputs)
        var ns = [Int](), n = 1
        while n <= settings.maximumN { ns.append(n); n *= 2 }
        let kl = ns.map(BestOfN.klBound)
        let curves = try ExperimentConfiguration.proxies.map { name in
            let proxy = try setup.proxy(named: name).checkedScores(for: inputs)
            let proxyCurve = ns.map { BestOfN.unbiasedEstimate(proxy: proxy, gold: proxy, n: $0, groupSize: N) }
            let goldCurve = ns.map { BestOfN.unbiasedEstimate(proxy: proxy, gold: gold, n: $0, groupSize: N) }
            let fit = GaoScalingLaw.fit(.bestOfN, distances: kl.map(GaoScalingLaw.distance), gold: goldCurve)
            return BestOfNResult.Curve(proxy: name, proxyScores: proxyCurve, gold: goldCurve, fit: fit)
        }
        return BestOfNResult(n: ns, kl: kl, curves: curves, prompts: prompts.count, samplesPerPrompt: N)
    }
}


/// The shared state of concurrent runs: the next job, the results, the first failure, and a
/// lock that serialises progress reports and result stores.
final class JobBoard: @unchecked Sendable {
    private let next = Atomic<Int>(0)
    private let lock = Mutex<Void>(())
    private let count: Int
    var results: [RunResult?]
    var failure: Error?

    init(count: Int) {
        self.count = count
        results = Array(repeating: nil, count: count)
    }

    /// The next job's index, or nil when all are taken (or the board stopped).
    func take() -> Int? {
        let index = next.add(1, ordering: .relaxed).oldValue
        return index < count ? index : nil
    }

    /// No further jobs start.
    func stop() { next.store(count, ordering: .relaxed) }

    func serialized<T>(_ body: () throws -> T) rethrows -> T { try lock.withLock { _ in try body() } }
}
