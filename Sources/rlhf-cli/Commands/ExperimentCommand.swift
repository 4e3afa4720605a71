import ArgumentParser
import Foundation
import RLHF

/// `rlhf experiment CONFIG`: the overoptimization harness at any size (``ExperimentConfiguration``).
struct ExperimentCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "experiment",
        abstract: "Run an overoptimization experiment: SFT policy, gold-labelled pairs, proxies, RL runs, best-of-n, Gao fits.",
        discussion: """
            CONFIG is a JSON or YAML file giving what differs from the defaults (rlhf demo's \
            configuration; `rlhf experiment --print-defaults` shows them all). Writes \
            OUTPUT/results.json (every number; the same configuration gives the same file), \
            OUTPUT/report.html (self-contained) and OUTPUT/configuration.json.
            """)

    @Argument(help: "The experiment's configuration file (.json, .yaml or .yml).")
    var config: String?

    @Option(help: "Directory for results.json, report.html and configuration.json.")
    var output: String = "runs/experiment"

    @Flag(help: "Print the default configuration as JSON and exit.")
    var printDefaults = false

    func run() throws {
        if printDefaults {
            print(String(decoding: try ExperimentConfiguration.demo.encodedJSON(), as: UTF8.self))
            return
        }
        guard let config else { throw ValidationError("give a configuration file (see --print-defaults)") }
        let configuration = try ExperimentFile.load(config)
        try Self.execute(configuration, output: output, title: "swift-rlhf experiment: \(config)")
    }

    /// Runs an experiment with progress on standard error, prints the table and writes the files.
    static func execute(_ configuration: ExperimentConfiguration, output: String, title: String) throws {
        let problems = configuration.problems
        guard problems.isEmpty else { throw ValidationError(problems.joined(separator: "\n")) }
        let goldSource: (any RewardSource)? = configuration.gold == "synthetic" ? nil
            : try RewardSources.make(specifications: [configuration.gold], weights: nil, policy: nil)
        let clock = ContinuousClock()
        let start = clock.now
        var printer = ProgressPrinter(plainEvery: 1)
        var finished = 0
        var rlStart = clock.now
        let settings = configuration.settings
        Terminal.error("""
            experiment: \(settings.count) settings × \(configuration.rlSeeds) seeds = \(settings.count * configuration.rlSeeds) RL runs of \
            \(configuration.reinforcement.steps) steps; threads: \(Parallel.threadCount)

            """)
        let results = try Experiment.run(configuration, goldSource: goldSource, loadModel: { try ModelOptions.load(path: $0) }) { event in
            switch event {
            case let .setup(.stage(name)):
                printer.line(String(format: "stage 1: %@ (%.1f s since start)", name, (clock.now - start).seconds))
            case let .setup(.progress(label, done, total)):
                if Terminal.isInteractive || done == total { printer.step(done, of: total, label) }
            case let .setup(.line(text)):
                printer.line(text)
            case let .runStarted(index, total, setting, seed):
                if index == 0 {
                    printer.line(String(format: "stage 1 done in %.1f s", (clock.now - start).seconds))
                    rlStart = clock.now
                }
                if !Terminal.isInteractive { printer.line("run \(index + 1)/\(total): \(setting.label), seed \(seed)") }
            case let .runStep(index, point, totalSteps):
                if Terminal.isInteractive {
                    let label = String(format: "run %d/%d step %d/%d proxy %+.2f gold %+.2f kl %.2f",
                                       index + 1, settings.count * configuration.rlSeeds, point.step, totalSteps, point.proxy, point.gold, point.kl)
                    printer.step(point.step, of: totalSteps, label)
                }
            case let .runFinished(index, result):
                finished += 1
                let total = settings.count * configuration.rlSeeds
                let remaining = Double(total - finished) * (clock.now - rlStart).seconds / Double(finished)
                printer.line(String(format: "run %d/%d %@ seed %llu: proxy %+.2f gold %+.2f (peak %+.2f) kl %.2f — ETA %@",
                                    index + 1, total, result.setting.label, result.seed,
                                    result.finalProxy, result.finalGold, result.goldPeak, result.finalKL,
                                    Terminal.duration(remaining)))
            case let .bestOfN(done, total):
                if Terminal.isInteractive || done == total { printer.step(done, of: total, "best-of-n pool") }
            }
        }
        try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
        try AtomicFile.write(results.encodedJSON(), to: output + "/results.json")
        try AtomicFile.write(configuration.encodedJSON(), to: output + "/configuration.json")
        try AtomicFile.write(Data(ExperimentReport.html(results, title: title).utf8), to: output + "/report.html")
        print("\n" + results.tableText + "\n")
        print("samples (last step of the first seed):\n" + results.samplesText + "\n")
        for curve in results.bestOfN.curves {
            if let fit = curve.fit {
                print(String(format: "best-of-n on %@: gold = d(α − β·d), α %.3f, β %.3f, peak d* %.2f (KL %.2f), R* %.3f, R² %.3f",
                             curve.proxy, fit.alpha, fit.beta, fit.peakDistance ?? .nan, pow(fit.peakDistance ?? .nan, 2), fit.peakReward ?? .nan, fit.rSquared))
            }
        }
        for frontier in results.frontiers {
            if let fit = frontier.fit {
                print(String(format: "RL frontier of %@: gold = d(α − β·ln d), α %.3f, β %.3f, peak d* %.2f (KL %.2f), R* %.3f, R² %.3f",
                             frontier.algorithm, fit.alpha, fit.beta, fit.peakDistance ?? .nan, pow(fit.peakDistance ?? .nan, 2), fit.peakReward ?? .nan, fit.rSquared))
            }
        }
        print(String(format: "\nwrote %@/results.json and %@/report.html in %.0f s", output, output, (clock.now - start).seconds))
    }
}
