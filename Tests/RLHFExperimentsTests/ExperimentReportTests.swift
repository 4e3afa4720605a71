import Foundation
import RLHFAlignment
import Testing

@testable import RLHFExperiments

/// The HTML report on hand-made results: structure, escaping, no network references, and no
/// crash on empty or non-finite data. With `RLHF_REPORT_OUT=DIR` the pages are also written to
/// DIR/report.html, report-nonfinite.html and report-empty.html (for `scripts/check-report.sh`).
struct ExperimentReportTests {
    @Test func reportHasEverySectionAndNoNetworkReference() throws {
        let results = Self.synthetic()
        let html = ExperimentReport.html(results, title: "test <report>")
        try Self.save(html, as: "report.html")
        #expect(html.hasPrefix("<!DOCTYPE html>"))
        #expect(html.contains("<title>test &lt;report&gt;</title>"))
        for row in results.table { #expect(html.contains(HTMLText.escape(row.setting.label))) }
        #expect(html.contains("<svg"))
        #expect(!html.contains("http://") && !html.contains("https://") && !html.contains("<script"))
        #expect(!html.contains("@import") && !html.contains("url(http"))
        // Sections in order.
        let headings = ["Stage 1", "Results", "KL–gold frontier", "Proxy and gold over training", "Best-of-n", "Samples", "Configuration"]
        let positions = headings.compactMap { html.range(of: $0)?.lowerBound }
        #expect(positions.count == headings.count && positions == positions.sorted())
        // The response is escaped; a URL in data is broken up.
        #expect(html.contains("great &lt;b&gt;&amp; cheap"))
        #expect(!html.contains("great <b>& cheap"))
        #expect(html.contains("see https&#58;//example.com"))
        // The overoptimized row is marked, one row is the best.
        #expect(html.contains("class=\"over\"") || html.contains("class=\"over best\""))
        #expect(html.contains("best\">"))
        // Fit parameters reach the legend and the best-of-n table.
        #expect(html.contains("R²="))
        #expect(html.contains("&quot;rl_seeds&quot;"))
    }

    @Test func nonFiniteValuesAreSkipped() throws {
        var results = Self.synthetic()
        results.runs[0].steps[3].gold = .nan
        results.runs[0].steps[4].proxy = .infinity
        results.runs[1].steps[2].kl = .nan
        results.table[0].gold = MeanStd([.nan, 1])
        results.table[1].goldAtMatchedKL = nil
        results.frontiers[0].points[1].kl = .nan
        results.frontiers[0].points[2].gold = -.infinity
        results.bestOfN.curves[0].gold[2] = .nan
        results.matchedKL = .nan
        let html = ExperimentReport.html(results)
        try Self.save(html, as: "report-nonfinite.html")
        #expect(html.hasPrefix("<!DOCTYPE html>"))
        #expect(!html.contains("NaN,") && !html.contains(",NaN") && !html.contains("=\"NaN\"") && !html.contains("∞,"))
        #expect(html.contains("—"))
    }

    @Test func emptyResultsRender() throws {
        var results = Self.synthetic()
        results.runs = []
        results.table = []
        results.frontiers = []
        results.bestOfN = BestOfNResult(n: [], kl: [], curves: [], prompts: 0, samplesPerPrompt: 0)
        results.setup.sftSamples = []
        results.setup.memberAccuracy = []
        let html = ExperimentReport.html(results)
        try Self.save(html, as: "report-empty.html")
        #expect(html.hasPrefix("<!DOCTYPE html>"))
        #expect(html.contains("no data") && html.contains("no runs") && html.contains("no curves"))
        #expect(html.hasSuffix("</html>\n"))
    }

    @Test func runsWithoutSteps() {
        var results = Self.synthetic()
        for i in results.runs.indices { results.runs[i].steps = []; results.runs[i].samples = [] }
        results.frontiers[0].points = []
        results.frontiers[0].fit = nil
        let html = ExperimentReport.html(results)
        #expect(html.contains("no data") && html.contains("no samples"))
    }

    @Test func niceAxes() {
        let a = SVGChart.niceAxis([0.03, 0.93])
        #expect(a.low == 0 && abs(a.high - 1) < 1e-12 && a.decimals == 1 && a.ticks.count == 6)
        let single = SVGChart.niceAxis([3, 3])
        #expect(single.low < 3 && single.high > 3 && single.ticks.count >= 2)
        let zero = SVGChart.niceAxis([0])
        #expect(zero.low <= -1 && zero.high >= 1)
        let empty = SVGChart.niceAxis([])
        #expect(empty.low == 0 && empty.high == 1)
        let wide = SVGChart.niceAxis([-1234, 56789])
        #expect(wide.ticks.count >= 3 && wide.ticks.count <= 8 && wide.decimals == 0)
        #expect(SVGChart.finiteRuns([1, .nan, 2, 3, .infinity], \Double.isFinite) == [[1], [2, 3]])
    }

    @Test func textHelpers() {
        #expect(HTMLText.escape("a<b>&\"c'") == "a&lt;b&gt;&amp;&quot;c&#39;")
        #expect(HTMLText.number(-0.0004, decimals: 3) == "0.000")
        #expect(HTMLText.number(-1.25, decimals: 1) == "-1.3" || HTMLText.number(-1.25, decimals: 1) == "-1.2")
        #expect(HTMLText.number(2.05, decimals: 0) == "2")
        #expect(HTMLText.number(0.5, decimals: 2) == "0.50")
        #expect(HTMLText.number(.nan, decimals: 2) == "NaN")
        #expect(HTMLText.integer(1_234_567) == "1\u{2009}234\u{2009}567")
    }

    // MARK: - Synthetic results

    /// Three settings × two seeds × 12 steps; gold rises then falls at the small β.
    static func synthetic() -> ExperimentResults {
        let settings = [
            ExperimentConfiguration.RunSetting(algorithm: "p3o-v2", proxy: "single", beta: 0.05),
            ExperimentConfiguration.RunSetting(algorithm: "p3o-v2", proxy: "single", beta: 0.2),
            ExperimentConfiguration.RunSetting(algorithm: "ppo", proxy: "single", beta: 0.05),
        ]
        var runs = [RunResult]()
        for (s, setting) in settings.enumerated() {
            for seed in UInt64(1)...2 {
                let jitter = Double(seed) * 0.02, rate = setting.beta < 0.1 ? 1.0 : 0.4
                let steps = (0..<12).map { t -> StepPoint in
                    let t = Double(t), kl = rate * 0.6 * t
                    let gold = GaoScalingLaw.predict(.reinforcement, alpha: 0.5, beta: 0.35 + 0.05 * Double(s), distance: kl.squareRoot())
                    let noise = Double((Int(t) * 7 + Int(seed) * 3) % 5 - 2) * 0.02 * Double(seed)
                    return StepPoint(step: Int(t), proxy: 0.15 * t * rate + jitter - noise, gold: gold + jitter + noise, kl: kl, klK3: kl,
                                     length: 40, disagreement: nil)
                }
                let peak = steps.max { $0.gold < $1.gold } ?? steps[0], last = steps[steps.count - 1]
                let response = s == 0 ? "great <b>& cheap, see https://example.com" : "fine product \(seed), works as described "
                    + String(repeating: "really ", count: 20)
                let samples = [0, 6, 11].map { TextSample(step: $0, prompt: "Review: kettle", response: response,
                                                          proxy: steps[$0].proxy, gold: steps[$0].gold) }
                runs.append(RunResult(setting: setting, seed: seed, steps: steps, finalProxy: last.proxy,
                                      finalGold: last.gold, finalKL: last.kl, goldPeakStep: peak.step,
                                      goldPeak: peak.gold, goldPeakKL: peak.kl, samples: samples, warnings: []))
            }
        }
        let table = settings.map { setting in
            let r = runs.filter { $0.setting == setting }
            return TableRow(setting: setting, proxy: MeanStd(r.map(\.finalProxy)), gold: MeanStd(r.map(\.finalGold)),
                            kl: MeanStd(r.map(\.finalKL)), goldPeak: MeanStd(r.map(\.goldPeak)),
                            goldAtMatchedKL: setting.beta > 0.1 ? nil : MeanStd(r.map { $0.steps[3].gold }),
                            overoptimized: r[0].finalGold < r[0].goldPeak - 0.05, sample: r[0].samples[r[0].samples.count - 1])
        }
        let frontiers = ["p3o-v2", "ppo"].map { algorithm in
            var points = [Frontier.Point]()
            for run in runs where run.setting.algorithm == algorithm && run.seed == 1 {
                points += run.steps.map { .init(beta: run.setting.beta, step: $0.step, kl: $0.kl, gold: $0.gold) }
            }
            let fit = GaoScalingLaw.fit(.reinforcement, distances: points.map { GaoScalingLaw.distance(kl: $0.kl) }, gold: points.map(\.gold))
            return Frontier(algorithm: algorithm, points: points, fit: fit)
        }
        let n = [1, 2, 4, 8, 16, 32, 64]
        let kl = n.map { log(Double($0)) - Double($0 - 1) / Double($0) }
        let d = kl.map { GaoScalingLaw.distance(kl: $0) }
        let curves = [("single", 0.15), ("mean", 0.08)].map { proxy, beta in
            let gold = d.enumerated().map { i, d in d * (0.6 - beta * d) + (i % 2 == 0 ? 0.02 : -0.02) * d }
            return BestOfNResult.Curve(proxy: proxy, proxyScores: d.map { 0.9 * $0 }, gold: gold,
                                       fit: GaoScalingLaw.fit(.bestOfN, distances: d, gold: gold))
        }
        let setup = SetupSummary(
            policyParameters: 123_456, sftExamples: 4000, sftSteps: 250, sftLossBefore: 5.54, sftLossAfter: 1.21,
            sftSamples: [TextSample(step: 0, prompt: "Review: lamp", response: "it is a lamp & it's ok", proxy: 0.1, gold: 0)],
            comparisons: 2000, tiedPairs: 12, flippedLabels: 497, heldOutPairs: 200,
            memberAccuracy: [0.61, 0.6, 0.62, 0.59], memberGoldAccuracy: [0.78, 0.77, 0.8, 0.76],
            normalizations: [.init(mean: 0.2, standardDeviation: 1.1)], goldOffset: 0.42, goldStandardDeviation: 0.9,
            goldTerms: [NamedValue(name: "sentiment", value: 0.3), NamedValue(name: "length", value: -0.1)])
        return ExperimentResults(configuration: ExperimentConfiguration(), setup: setup, runs: runs, table: table, matchedKL: 2,
                                 frontiers: frontiers,
                                 bestOfN: BestOfNResult(n: n, kl: kl, curves: curves, prompts: 12, samplesPerPrompt: 128))
    }

    /// Writes `html` to `$RLHF_REPORT_OUT/name` when that variable is set.
    static func save(_ html: String, as name: String) throws {
        guard let directory = ProcessInfo.processInfo.environment["RLHF_REPORT_OUT"], !directory.isEmpty else { return }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try html.write(toFile: directory + "/" + name, atomically: true, encoding: .utf8)
    }
}
