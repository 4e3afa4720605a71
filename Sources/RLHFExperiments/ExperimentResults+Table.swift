/// The terminal table of an experiment: one row per setting, mean ± std over seeds, and a sample
/// response per setting below it.
extension ExperimentResults {
    /// The table as aligned text lines.
    public var tableText: String {
        func cell(_ value: MeanStd?) -> String {
            guard let value, value.mean.isFinite else { return "—" }
            return String(format: "%+.2f ± %.2f", value.mean, value.std)
        }
        let header = ["setting", "proxy", "gold", "KL (nats)", "gold peak", "gold @ KL \(String(format: "%.1f", matchedKL))", ""]
        var rows = [header]
        for row in table {
            rows.append([row.setting.label, cell(row.proxy), cell(row.gold), String(format: "%.2f ± %.2f", row.kl.mean, row.kl.std),
                         cell(row.goldPeak), cell(row.goldAtMatchedKL), row.overoptimized ? "gold fell" : ""])
        }
        let widths = header.indices.map { column in rows.map { $0[column].count }.max() ?? 0 }
        var lines = rows.map { row in
            row.enumerated().map { column, text in
                column == 0 ? text.padding(toLength: widths[column], withPad: " ", startingAt: 0)
                    : String(repeating: " ", count: widths[column] - text.count) + text
            }.joined(separator: "  ")
        }
        lines.insert(String(repeating: "─", count: lines[0].count), at: 1)
        let seeds = table.first?.gold.count ?? 0
        lines.append("")
        lines.append("mean ± std over \(seeds) seed(s); proxy: z-score on SFT samples; gold: recentred so the SFT policy's mean is 0;")
        lines.append("the end of a run is the mean of its last \(configuration.reinforcement.finalWindow) steps; 'gold fell': the final gold is > \(Experiment.overoptimizationDrop) below the gold peak while the proxy rose.")
        return lines.joined(separator: "\n")
    }

    /// One sample response per setting (the first seed's last), with its proxy and gold.
    public var samplesText: String {
        table.map { row in
            "\(row.setting.label) (proxy \(String(format: "%+.2f", row.sample.proxy)), gold \(String(format: "%+.2f", row.sample.gold))):\n    "
                + row.sample.response.replacingOccurrences(of: "\n", with: "⏎")
        }.joined(separator: "\n")
    }
}

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
