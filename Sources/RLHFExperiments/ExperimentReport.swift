#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import RLHFAlignment

/// The self-contained HTML report of an overoptimization experiment: one file with inline CSS and
/// inline SVG charts, no scripts and no network references (text is escaped, and "://" in data is
/// broken up, so the page holds no URL).
///
/// Sections, in order: header with the stage-1 summary, the results table, the KL–gold frontier
/// with Gao fits, proxy and gold over training per setting, best-of-n, samples, and the
/// configuration as JSON.
///
/// ```swift
/// let page = ExperimentReport.html(results, title: "demo")
/// try page.write(to: directory.appending(path: "report.html"), atomically: true, encoding: .utf8)
/// ```
public enum ExperimentReport {
    public static func html(_ results: ExperimentResults, title: String = "swift-rlhf experiment") -> String {
        let sections = [
            header(results, title: title), table(results), frontier(results), training(results),
            bestOfN(results), samples(results), footer(results),
        ]
        return """
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(e(title))</title>
            <style>\(style)</style>
            </head>
            <body>
            \(sections.joined(separator: "\n"))
            </body>
            </html>

            """
    }

    // MARK: - Sections

    static func header(_ results: ExperimentResults, title: String) -> String {
        let s = results.setup, c = results.configuration
        let rows: [(String, String)] = [
            ("Policy", "\(HTMLText.integer(s.policyParameters)) parameters; SFT on \(s.sftExamples) examples in \(s.sftSteps) steps; "
                + "held-out loss \(f(s.sftLossBefore)) → \(f(s.sftLossAfter)) nats per token"),
            ("Preference pairs", "\(s.comparisons) comparisons (\(s.tiedPairs) tied on gold and dropped, \(s.heldOutPairs) held out); "
                + "\(s.flippedLabels) labels flipped (label noise \(percent(c.preferences.labelNoise)))"),
            ("Proxy accuracy vs labels", accuracies(s.memberAccuracy)),
            ("Proxy accuracy vs gold", accuracies(s.memberGoldAccuracy)),
            ("Proxy normalisation", s.normalizations.isEmpty ? "—"
                : s.normalizations.map { "\(f($0.mean)) ± \(f($0.standardDeviation))" }.joined(separator: ", ")),
            ("Gold on SFT samples", "offset \(f(s.goldOffset)) (subtracted everywhere), std \(f(s.goldStandardDeviation))"),
            ("Gold terms (SFT mean)", s.goldTerms.isEmpty ? "—" : s.goldTerms.map { "\($0.name) \(f($0.value))" }.joined(separator: ", ")),
        ]
        return """
            <header>
            <h1>\(e(title))</h1>
            <p>A small policy is fine-tuned (SFT) on a synthetic language of product reviews. Pairs of its responses are labelled \
            by a programmatic <b>gold</b> reward, with a share of the labels flipped at random, and bag-of-words <b>proxy</b> reward \
            models are trained on those labels: a single member, and ensembles combined by mean, worst case (WCO) or \
            uncertainty-weighted (UWO). RL (P3O V1/V2, PPO, online DPO, …) then optimises a proxy at a few KL coefficients β. \
            Gold is watched, never optimised: <b>overoptimization</b> is the proxy rising while gold falls.</p>
            <h2>Stage 1</h2>
            <table class="kv">
            \(rows.map { "<tr><th>\(e($0.0))</th><td>\(e($0.1))</td></tr>" }.joined(separator: "\n"))
            </table>
            </header>
            """
    }

    static func table(_ results: ExperimentResults) -> String {
        let best = results.table.indices.filter { results.table[$0].gold.mean.isFinite }
            .max { results.table[$0].gold.mean < results.table[$1].gold.mean }
        let matched = "Gold at KL = \(f(results.matchedKL, 2))"
        let head = ["Setting", "Proxy", "Gold", "KL (nats)", "Gold peak", matched, "Seeds", "Overoptimized"]
        var rows = [String]()
        for (i, row) in results.table.enumerated() {
            let classes = (row.overoptimized ? ["over"] : []) + (i == best ? ["best"] : [])
            let atKL = row.goldAtMatchedKL.map { meanStd($0) + ($0.count != row.gold.count ? " (\($0.count) seeds)" : "") } ?? "—"
            let cells = [row.setting.label, meanStd(row.proxy), meanStd(row.gold), meanStd(row.kl, 2), meanStd(row.goldPeak),
                         atKL, "\(row.gold.count)"].map(e) + [row.overoptimized ? "<span class=\"flag\">▼ gold fell</span>" : ""]
            rows.append("<tr class=\"\(classes.joined(separator: " "))\">" + cells.enumerated().map { j, cell in
                "<td\(j == 0 ? " class=\"l\"" : "")>\(cell)</td>"
            }.joined() + "</tr>")
        }
        return """
            <section>
            <h2>Results</h2>
            <p class="muted">End of training (mean of the final window), mean ± std over seeds. Gold is recentred so that the \
            SFT policy scores 0. <span class="swatch over"></span> gold fell while the proxy rose; \
            <span class="swatch best"></span> best final gold.</p>
            <table class="results">
            <tr>\(head.enumerated().map { "<th\($0 == 0 ? " class=\"l\"" : "")>\(e($1))</th>" }.joined())</tr>
            \(rows.isEmpty ? "<tr><td class=\"l\" colspan=\"8\">no runs</td></tr>" : rows.joined(separator: "\n"))
            </table>
            </section>
            """
    }

    static func frontier(_ results: ExperimentResults) -> String {
        var chart = SVGChart(id: "frontier", width: 1100, plotHeight: 380, xLabel: "d = √KL(π ‖ π_SFT)   (KL in nats per sequence)",
                             yLabel: "gold (recentred)")
        chart.xIncludesZero = true
        chart.yIncludesZero = true
        let betas = Array(Set(results.frontiers.flatMap { $0.points.map(\.beta) })).sorted()
        func marker(_ beta: Double) -> SVGChart.Marker {
            SVGChart.Marker.allCases[(betas.firstIndex(of: beta) ?? 0) % SVGChart.Marker.allCases.count]
        }
        for (i, frontier) in results.frontiers.enumerated() {
            let color = algorithmColor(frontier.algorithm, index: i)
            for beta in betas {
                let points = frontier.points.filter { $0.beta == beta }.map { (x: distance($0.kl), y: $0.gold) }
                if !points.isEmpty { chart.dots.append(.init(points: points, color: color, marker: marker(beta), opacity: 0.75)) }
            }
            var label = frontier.algorithm
            if let fit = frontier.fit {
                let maximum = frontier.points.map { distance($0.kl) }.filter(\.isFinite).max() ?? 0
                chart.lines.append(.init(points: curve(fit, upTo: maximum), color: color, width: 2))
                label += ": fit α=\(f(fit.alpha)), β=\(f(fit.beta)), R²=\(f(fit.rSquared, 2))"
            }
            chart.legend.append(.init(label: label, color: color, marker: .circle))
        }
        chart.legend += betas.map { .init(label: "β=\(ExperimentConfiguration.format($0))", color: "#666", line: false, marker: marker($0)) }
        if results.matchedKL.isFinite && results.matchedKL > 0 && results.frontiers.contains(where: { !$0.points.isEmpty }) {
            chart.verticals.append((x: distance(results.matchedKL), label: "matched KL \(f(results.matchedKL, 2))"))
        }
        return """
            <section>
            <h2>KL–gold frontier</h2>
            <p class="muted">Each point is one step of one setting on the single proxy (mean over seeds, smoothed); marker shape \
            gives β. Lines: Gao et al.'s RL form gold(d) = d(α − β ln d), d = √KL, fitted on every point of an algorithm.</p>
            \(chart.render())
            </section>
            """
    }

    static func training(_ results: ExperimentResults) -> String {
        var charts = [String]()
        for (i, setting) in settings(results).enumerated() {
            let runs = results.runs.filter { $0.setting == setting }
            let steps = Array(Set(runs.flatMap { $0.steps.map(\.step) })).sorted()
            var chart = SVGChart(id: "run-\(i)", width: 370, plotHeight: 160, title: setting.label, xLabel: "step", yLabel: "reward")
            for (name, color, value) in [("proxy", proxyColor, \StepPoint.proxy), ("gold", goldColor, \StepPoint.gold)] {
                let stats = steps.map { step in
                    summary(runs.compactMap { run in run.steps.first { $0.step == step }?[keyPath: value] })
                }
                let x = steps.map(Double.init)
                chart.bands.append(.init(x: x, low: stats.map(\.min), high: stats.map(\.max), color: color))
                chart.lines.append(.init(points: zip(x, stats).map { (x: $0, y: $1.mean) }, color: color, label: name))
            }
            charts.append(chart.render())
        }
        return """
            <section>
            <h2>Proxy and gold over training</h2>
            <p class="muted">One chart per setting: lines are means over seeds, bands span min–max over seeds.</p>
            <div class="grid">
            \(charts.isEmpty ? "<p>no runs</p>" : charts.joined(separator: "\n"))
            </div>
            </section>
            """
    }

    static func bestOfN(_ results: ExperimentResults) -> String {
        let bon = results.bestOfN
        let d = bon.kl.map(distance)
        var charts = [String](), rows = [String]()
        for (i, curve) in bon.curves.enumerated() {
            var chart = SVGChart(id: "bon-\(i)", width: 370, plotHeight: 170, title: "best-of-n under \(curve.proxy)",
                                 xLabel: "d = √KL", yLabel: "reward")
            chart.xIncludesZero = true
            chart.lines.append(.init(points: zip(d, curve.proxyScores).map { (x: $0, y: $1) }, color: proxyColor, label: "proxy"))
            chart.lines.append(.init(points: zip(d, curve.gold).map { (x: $0, y: $1) }, color: goldColor, label: "gold"))
            chart.dots.append(.init(points: zip(d, curve.gold).map { (x: $0, y: $1) }, color: goldColor, radius: 2.5))
            chart.texts = zip(bon.n, d).map { SVGChart.Text(x: $1, y: nil, text: "\($0)") }
            if let fit = curve.fit {
                chart.lines.append(.init(points: self.curve(fit, upTo: d.filter(\.isFinite).max() ?? 0), color: fitColor,
                                         width: 1.4, dashed: true, label: "fit d(α − βd)"))
            }
            charts.append(chart.render())
            let cells = curve.fit.map { [f($0.alpha), f($0.beta), $0.peakDistance.map { f($0) } ?? "—", $0.peakReward.map { f($0) } ?? "—",
                                         f($0.rSquared, 2)] } ?? ["—", "—", "—", "—", "—"]
            rows.append("<tr><td class=\"l\">\(e(curve.proxy))</td>" + cells.map { "<td>\(e($0))</td>" }.joined() + "</tr>")
        }
        let fits = rows.isEmpty ? "" : "<table class=\"results\">\n<tr><th class=\"l\">Proxy</th><th>α</th><th>β</th><th>d*</th>"
            + "<th>R*</th><th>R²</th></tr>\n" + rows.joined(separator: "\n") + "\n</table>"
        return """
            <section>
            <h2>Best-of-n</h2>
            <p class="muted">The SFT policy's best of n (n above each chart) under each proxy, from the unbiased estimator over \
            \(bon.prompts) prompts × \(bon.samplesPerPrompt) samples; KL = log n − (n − 1)/n. Dashed: Gao et al.'s best-of-n \
            form gold(d) = d(α − βd), peak at d* = α/(2β), R* = α²/(4β).</p>
            <div class="grid">
            \(charts.isEmpty ? "<p>no curves</p>" : charts.joined(separator: "\n"))
            </div>
            \(fits)
            </section>
            """
    }

    static func samples(_ results: ExperimentResults) -> String {
        var blocks = [String]()
        if !results.setup.sftSamples.isEmpty {
            blocks.append(sampleTable("SFT policy (before RL)", results.setup.sftSamples))
        }
        for setting in settings(results) {
            guard let run = results.runs.first(where: { $0.setting == setting }) else { continue }
            blocks.append(sampleTable("\(setting.label) (seed \(run.seed))", run.samples))
        }
        return """
            <section>
            <h2>Samples</h2>
            <p class="muted">Responses of the first seed's run at several points of training, with their proxy (normalised) \
            and gold (recentred) scores.</p>
            \(blocks.isEmpty ? "<p>no samples</p>" : blocks.joined(separator: "\n"))
            </section>
            """
    }

    static func footer(_ results: ExperimentResults) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        let json: String
        do {
            json = String(decoding: try encoder.encode(results.configuration), as: UTF8.self)
        } catch {
            json = "could not encode the configuration: \(error)"
        }
        return """
            <footer>
            <details>
            <summary>Configuration (\(e(results.format)) v\(results.version), \(results.runs.count) runs)</summary>
            <pre class="mono">\(e(json))</pre>
            </details>
            </footer>
            """
    }

    // MARK: - Pieces

    static func sampleTable(_ caption: String, _ samples: [TextSample]) -> String {
        let rows = samples.map { s in
            let prompt = s.prompt.isEmpty ? "" : "<div class=\"prompt\">\(e(s.prompt))</div>"
            return "<tr><td>\(s.step)</td><td class=\"l\">\(prompt)<div class=\"mono\">\(e(s.response))</div></td><td>\(e(f(s.proxy)))</td><td>\(e(f(s.gold)))</td></tr>"
        }
        return """
            <details open>
            <summary>\(e(caption))</summary>
            <table class="samples">
            <tr><th>Step</th><th class="l">Prompt / response</th><th>Proxy</th><th>Gold</th></tr>
            \(rows.isEmpty ? "<tr><td class=\"l\" colspan=\"4\">no samples</td></tr>" : rows.joined(separator: "\n"))
            </table>
            </details>
            """
    }

    /// Every setting of the table, then any other of the runs, in order.
    static func settings(_ results: ExperimentResults) -> [ExperimentConfiguration.RunSetting] {
        var seen = Set<ExperimentConfiguration.RunSetting>()
        return (results.table.map(\.setting) + results.runs.map(\.setting)).filter { seen.insert($0).inserted }
    }

    /// A fitted Gao form sampled on [0, maximum].
    static func curve(_ fit: GaoScalingLaw.Fit, upTo maximum: Double) -> [(x: Double, y: Double)] {
        guard maximum.isFinite && maximum > 0 else { return [] }
        return (0...80).map { k in
            let d = maximum * Double(k) / 80
            return (x: d, y: GaoScalingLaw.predict(fit.form, alpha: fit.alpha, beta: fit.beta, distance: d))
        }
    }

    /// √KL, keeping NaN (GaoScalingLaw.distance maps it to 0).
    static func distance(_ kl: Double) -> Double { kl.isNaN ? .nan : GaoScalingLaw.distance(kl: kl) }

    /// Mean, min and max of the finite values (NaN when there are none).
    static func summary(_ values: [Double]) -> (mean: Double, min: Double, max: Double) {
        let finite = values.filter(\.isFinite)
        guard let low = finite.min(), let high = finite.max() else { return (.nan, .nan, .nan) }
        return (finite.reduce(0, +) / Double(finite.count), low, high)
    }

    static func algorithmColor(_ algorithm: String, index: Int) -> String {
        let i = ExperimentConfiguration.algorithms.firstIndex(of: algorithm) ?? (ExperimentConfiguration.algorithms.count + index)
        return palette[i % palette.count]
    }

    /// Fixed colours, readable on white: one per algorithm (in ``ExperimentConfiguration/algorithms``
    /// order, then others), and proxy blue / gold orange (fits dark brown) in every training and best-of-n chart.
    static let palette = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#7f7f7f", "#bcbd22"]
    static let proxyColor = "#3b6fb6", goldColor = "#e08214", fitColor = "#8c4a06"

    static func e(_ text: String) -> String { HTMLText.escape(text) }
    static func f(_ value: Double, _ decimals: Int = 3) -> String { HTMLText.number(value, decimals: decimals) }
    static func meanStd(_ value: MeanStd, _ decimals: Int = 3) -> String { "\(f(value.mean, decimals)) ± \(f(value.std, decimals))" }
    static func percent(_ fraction: Double) -> String { fraction.isFinite ? "\(f(fraction * 100, 1))%" : "—" }

    static func accuracies(_ values: [Double]) -> String {
        guard !values.isEmpty else { return "—" }
        let mean = summary(values).mean
        return values.map(percent).joined(separator: ", ") + (values.count > 1 ? " (mean \(percent(mean)))" : "")
    }

    static let style = """
        body { font-family: system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: #222; \
        max-width: 1180px; margin: 24px auto; padding: 0 16px; line-height: 1.45; }
        h1 { font-size: 1.6em; margin: 0 0 .3em; } h2 { font-size: 1.2em; border-bottom: 1px solid #ddd; padding-bottom: 3px; margin-top: 2em; }
        table { border-collapse: collapse; font-size: 13px; margin: .5em 0; }
        th, td { border: 1px solid #ddd; padding: 3px 8px; text-align: right; vertical-align: top; }
        th { background: #f5f5f5; font-weight: 600; } .l { text-align: left; }
        table.kv th { text-align: left; white-space: nowrap; } table.kv td { text-align: left; }
        tr.over td { background: #fde4e2; } tr.best td { background: #e0f2e0; }
        .flag { color: #b22222; font-weight: 600; white-space: nowrap; }
        .swatch { display: inline-block; width: 12px; height: 12px; border: 1px solid #ccc; vertical-align: -2px; }
        .swatch.over { background: #fde4e2; } .swatch.best { background: #e0f2e0; }
        .muted { color: #555; font-size: 14px; } .prompt { color: #777; font-size: 12px; }
        .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace; font-size: 12px; \
        white-space: pre-wrap; overflow-wrap: anywhere; }
        table.samples { width: 100%; } table.samples td:nth-child(2) { width: 80%; }
        .grid { display: flex; flex-wrap: wrap; gap: 10px; }
        svg.chart { display: block; } details { margin: .6em 0; } summary { cursor: pointer; font-weight: 600; }
        footer { margin: 2.5em 0 1em; border-top: 1px solid #ddd; padding-top: .5em; }
        """
}
