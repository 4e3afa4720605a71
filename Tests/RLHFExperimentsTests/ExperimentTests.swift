import Foundation
import RLHFAlignment
import RLHFRollouts
import Testing
@testable import RLHFExperiments

/// The harness on a seconds-long configuration: invariants of its measurements, the results
/// schema, determinism (twice, and sequential vs concurrent runs), Gao fits recovering planted
/// coefficients, the proxy model, and configuration files.
@Suite("Overoptimization experiment harness")
struct ExperimentTests {
    /// A configuration that runs in seconds: a 1-block d = 32 policy, 2 proxy members, 3 RL steps.
    static var tiny: ExperimentConfiguration {
        var c = ExperimentConfiguration()
        c.rlSeeds = 2
        c.policy.hiddenSize = 32
        c.policy.intermediateSize = 64
        c.policy.blocks = 1
        c.policy.heads = 2
        c.policy.keyValueHeads = 1
        c.policy.sftExamples = 300
        c.policy.sftEpochs = 1
        c.preferences.comparisons = 80
        c.proxy.members = 3
        c.proxy.training.epochs = 5
        c.proxy.normalizationSamples = 48
        c.reinforcement.steps = 3
        c.reinforcement.responsesPerStep = 8
        c.reinforcement.responsesPerUpdate = 4
        c.reinforcement.maximumNewTokens = 24
        c.reinforcement.finalWindow = 2
        c.bestOfN.prompts = 2
        c.bestOfN.samplesPerPrompt = 8
        c.bestOfN.maximumN = 4
        c.runs = [.init(algorithms: ["p3o-v2", "ppo"], proxies: ["single"], betas: [0.1]),
                  .init(algorithms: ["p3o-v1", "online-dpo"], proxies: ["wco"], betas: [0.1])]
        return c
    }

    static func run(_ configuration: ExperimentConfiguration, concurrentRuns: Int = 2) throws -> ExperimentResults {
        try Experiment.run(configuration, concurrentRuns: concurrentRuns, loadModel: { _ in fatalError("no model files here") }) { _ in }
    }

    @Test("KL (k3) ≥ 0, gold recentred on the SFT samples, normalised members, WCO ≤ mean")
    func setupInvariants() throws {
        let setup = try ExperimentSetup(configuration: Self.tiny, loadModel: { _ in fatalError() }) { _ in }
        let inputs = setup.referenceInputs
        #expect(inputs.count == 48)
        let gold = try setup.gold.checkedScores(for: inputs)
        #expect(abs(gold.reduce(0, +) / Double(gold.count)) < 1e-9)
        let members = setup.proxy(named: "mean").memberScores(for: inputs)
        #expect(members.count == 3)
        for scores in members {
            let (mean, std) = Statistics.meanAndStandardDeviation(scores)
            #expect(abs(mean) < 1e-9)
            #expect(abs(std - 1) < 1e-9)
        }
        let mean = try setup.proxy(named: "mean").checkedScores(for: inputs)
        let wco = try setup.proxy(named: "wco").checkedScores(for: inputs)
        let uwo = try setup.proxy(named: "uwo").checkedScores(for: inputs)
        for i in inputs.indices {
            #expect(wco[i] <= mean[i] + 1e-12)
            #expect(uwo[i] <= mean[i] + 1e-12)
        }
        #expect(try setup.proxy(named: "single").checkedScores(for: inputs) == members[0])
        #expect(setup.summary.flippedLabels == LabelNoise.flipCount(count: setup.summary.comparisons - setup.summary.tiedPairs, rate: 0.25))
    }

    @Test("results: schema, k3 KL never negative, runs per setting × seed, same JSON twice and when run concurrently")
    func resultsAndDeterminism() throws {
        let configuration = Self.tiny
        let results = try Self.run(configuration)
        let settings = configuration.settings
        #expect(results.runs.count == settings.count * 2)
        #expect(results.table.map(\.setting) == settings)
        for run in results.runs {
            #expect(run.steps.count == 3)
            for step in run.steps {
                #expect(step.klK3 >= 0)
                #expect(step.proxy.isFinite && step.gold.isFinite && step.kl.isFinite)
            }
            #expect(run.steps.first?.kl == 0, "the first rollouts come from the SFT policy itself")
            #expect(run.setting.proxy != "wco" || run.steps.allSatisfy { $0.disagreement != nil })
        }
        for row in results.table { #expect(row.gold.count == 2 && row.kl.mean >= row.kl.mean.rounded(.down)) }
        #expect(results.frontiers.map(\.algorithm) == ["p3o-v2", "ppo"])
        #expect(results.bestOfN.n == [1, 2, 4])
        #expect(results.bestOfN.curves.map(\.proxy) == ["single", "mean", "wco", "uwo"])
        for curve in results.bestOfN.curves {
            // Best of 1 is the pool's mean; selecting by the proxy raises the proxy.
            #expect(curve.proxyScores[2] >= curve.proxyScores[0])
        }

        let json = try results.encodedJSON()
        let document = try #require(try JSONSerialization.jsonObject(with: json) as? [String: Any])
        for key in ["format", "version", "configuration", "setup", "runs", "table", "matched_kl", "frontiers", "best_of_n"] {
            #expect(document[key] != nil, "results.json lacks \(key)")
        }
        let row = try #require((document["table"] as? [[String: Any]])?.first)
        for key in ["setting", "proxy", "gold", "kl", "gold_peak", "overoptimized", "sample"] { #expect(row[key] != nil, "a table row lacks \(key)") }
        let gold = try #require(row["gold"] as? [String: Any])
        #expect(Set(gold.keys) == ["mean", "std", "count"])
        let step = try #require(((document["runs"] as? [[String: Any]])?.first?["steps"] as? [[String: Any]])?.first)
        for key in ["step", "proxy", "gold", "kl", "kl_k3", "length"] { #expect(step[key] != nil, "a step lacks \(key)") }

        #expect(try Self.run(configuration).encodedJSON() == json, "the same configuration gave different results")
        #expect(try Self.run(configuration, concurrentRuns: 1).encodedJSON() == json, "sequential and concurrent runs differ")
    }

    @Test("Gao fits recover planted coefficients exactly: RL frontier and best-of-n form")
    func gaoFitsExact() throws {
        let alpha = 0.9, beta = 0.35
        let kls = (1...30).map { Double($0) * 0.7 }
        let steps = kls.enumerated().map { i, kl in
            StepPoint(step: i + 1, proxy: kl, gold: GaoScalingLaw.predict(.reinforcement, alpha: alpha, beta: beta, distance: kl.squareRoot()),
                      kl: kl, klK3: kl, length: 10, disagreement: nil)
        }
        let setting = ExperimentConfiguration.RunSetting(algorithm: "p3o-v2", proxy: "single", beta: 0.1)
        let run = ExperimentRun.summarize(setting: setting, seed: 1, points: steps, samples: [], warnings: [], window: 1)
        let frontier = try #require(Experiment.frontiers(settings: [setting], runs: [run], window: 1).first?.fit)
        #expect(abs(frontier.alpha - alpha) < 1e-9 && abs(frontier.beta - beta) < 1e-9)
        #expect(abs(try #require(frontier.peakDistance) - exp(alpha / beta - 1)) < 1e-6)
        #expect(abs(frontier.rSquared - 1) < 1e-12)

        let distances = (0...10).map { Double($0) * 0.3 }
        let fit = try #require(GaoScalingLaw.fit(.bestOfN, distances: distances, gold: distances.map { $0 * (1.2 - 0.4 * $0) }))
        #expect(abs(fit.alpha - 1.2) < 1e-12 && abs(fit.beta - 0.4) < 1e-12)
        #expect(abs(try #require(fit.peakDistance) - 1.5) < 1e-12)
    }

    @Test("the bag-of-words proxy learns a planted preference and its gradient matches finite differences")
    func proxyLearns() throws {
        let vocabulary = ["awful", "great", "is", "the", "tea"]
        let pairs = (0..<40).map { i in
            (chosen: "The tea is great." + String(repeating: " The tea is.", count: i % 3),
             rejected: "The tea is awful." + String(repeating: " The tea is.", count: (i + 1) % 3))
        }
        var parameters = BagOfWordsProxy.Parameters()
        parameters.epochs = 40
        parameters.bootstrap = false
        let (proxy, history) = BagOfWordsProxy.train(pairs: pairs, vocabulary: vocabulary, parameters: parameters, seed: 3)
        #expect(history.last!.loss < history.first!.loss)
        #expect(pairs.allSatisfy { proxy.reward($0.chosen) > proxy.reward($0.rejected) })
        #expect(proxy.features("The TEA is great, great. Odd words.") == [0, 2, 1, 1, 1, 2, 2])

        // d r / d θ against central differences, one coordinate of each tensor.
        let x = proxy.features("The tea is great. The tea is.")
        let (_, z) = proxy.forward(x)
        var gW = [Double](repeating: 0, count: proxy.inputWeights.count)
        var gb = [Double](repeating: 0, count: proxy.hidden), gw = gb
        proxy.accumulate(x, z, scale: 1, inputWeights: &gW, inputBiases: &gb, outputWeights: &gw)
        let h = 1e-6
        func numeric(_ change: (inout BagOfWordsProxy, Double) -> Void) -> Double {
            var plus = proxy, minus = proxy
            change(&plus, h)
            change(&minus, -h)
            return (plus.forward(x).reward - minus.forward(x).reward) / (2 * h)
        }
        let unit = try #require(z.indices.first { z[$0] > 0.01 })
        let slot = proxy.inputCount * unit + 3
        #expect(abs(numeric { $0.perturb(inputWeight: slot, by: $1) } - gW[slot]) < 1e-6)
        #expect(abs(numeric { $0.perturb(inputBias: unit, by: $1) } - gb[unit]) < 1e-6)
        #expect(abs(numeric { $0.perturb(outputWeight: unit, by: $1) } - gw[unit]) < 1e-6)
    }

    @Test("configuration files: defaults kept, unknown keys named, wrong types named, problems listed")
    func configurationFiles() throws {
        let c = try ExperimentConfiguration.decode(
            document: ["rl_seeds": 5, "reinforcement": ["steps": 7, "final_window": 2], "policy": ["model": "m.gguf"]], file: "x.yaml")
        #expect(c.rlSeeds == 5 && c.reinforcement.steps == 7 && c.reinforcement.learningRate == ExperimentConfiguration().reinforcement.learningRate)
        #expect(c.policy.model == "m.gguf")
        #expect(c.runs == ExperimentConfiguration.demoRuns)
        #expect(throws: ExperimentError.self) { try ExperimentConfiguration.decode(document: ["reinforcement": ["stepz": 3]], file: "x.yaml") }
        do {
            _ = try ExperimentConfiguration.decode(document: ["reinforcement": ["stepz": 3]], file: "x.yaml")
        } catch let error as ExperimentError {
            #expect(error.description.contains("x.yaml: unknown key 'reinforcement.stepz'"))
        }
        do {
            _ = try ExperimentConfiguration.decode(document: ["rl_seeds": "three"], file: "x.json")
            Issue.record("a string for rl_seeds was accepted")
        } catch let error as ExperimentError {
            #expect(error.description.contains("rl_seeds"))
        }
        var bad = ExperimentConfiguration()
        bad.runs = [.init(algorithms: ["ppo2"], proxies: ["median"], betas: [-1])]
        #expect(bad.problems.count == 3)
        #expect(ExperimentConfiguration.demo.problems.isEmpty)
        // The defaults written out read back as themselves.
        let document = try JSONSerialization.jsonObject(with: try ExperimentConfiguration.demo.encodedJSON())
        #expect(try ExperimentConfiguration.decode(document: document, file: "defaults.json") == ExperimentConfiguration.demo)
    }
}
