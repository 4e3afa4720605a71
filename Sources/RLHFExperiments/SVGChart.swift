/// A small inline SVG chart for the experiment report: linear axes with about five nice ticks,
/// lines (solid or dashed), markers, min–max bands, text marks, vertical reference lines and a
/// legend above the plot.
///
/// Robust by construction: non-finite points are skipped (a line or band breaks there), a chart
/// without data draws its frame and "no data", and a zero range is widened around its value.
///
/// ```swift
/// var chart = SVGChart(id: "gold", xLabel: "step", yLabel: "gold")
/// chart.lines.append(.init(points: [(0, 0), (1, 0.4)], color: "#d9822b", label: "gold"))
/// let svg = chart.render()
/// ```
struct SVGChart {
    enum Marker: CaseIterable { case circle, square, triangle, diamond }

    struct Line {
        var points: [(x: Double, y: Double)]
        var color: String
        var width = 1.8
        var dashed = false
        var label: String? = nil
    }

    struct Dots {
        var points: [(x: Double, y: Double)]
        var color: String
        var marker = Marker.circle
        var radius = 3.5
        var opacity = 0.85
        var label: String? = nil
    }

    /// A filled area between `low` and `high` over `x` (equal counts).
    struct Band {
        var x: [Double]
        var low: [Double]
        var high: [Double]
        var color: String
        var opacity = 0.18
    }

    /// Text at data coordinates; a nil `y` puts it just above the plot.
    struct Text {
        var x: Double
        var y: Double?
        var text: String
        var color = "#555"
    }

    struct LegendEntry {
        var label: String
        var color: String
        var line = true
        var dashed = false
        var marker: Marker? = nil
    }

    /// Unique within the document (it names the clip path).
    var id: String
    var width = 640.0
    var plotHeight = 300.0
    var title: String? = nil
    var xLabel = ""
    var yLabel = ""
    var lines = [Line]()
    var dots = [Dots]()
    var bands = [Band]()
    var texts = [Text]()
    /// Dashed vertical lines at these x values, with a label at the top.
    var verticals = [(x: Double, label: String)]()
    /// Legend entries beyond those of labelled lines and dots.
    var legend = [LegendEntry]()
    var xIncludesZero = false
    var yIncludesZero = false

    private let left = 58.0, right = 18.0, bottom = 42.0, fontSize = 11.0

    init(id: String, width: Double = 640, plotHeight: Double = 300, title: String? = nil,
         xLabel: String = "", yLabel: String = "") {
        self.id = id
        self.width = width
        self.plotHeight = plotHeight
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
    }

    // MARK: - Rendering

    func render() -> String {
        let entries = lines.compactMap { line in line.label.map { LegendEntry(label: $0, color: line.color, dashed: line.dashed) } }
            + dots.compactMap { d in d.label.map { LegendEntry(label: $0, color: d.color, line: false, marker: d.marker) } }
            + legend
        let plotWidth = max(40, width - left - right)
        let (legendSVG, legendRows) = renderLegend(entries, top: title == nil ? 6 : 26, width: plotWidth)
        let top = (title == nil ? 10 : 30) + Double(legendRows) * 16 + 6 + (texts.contains { $0.y == nil } ? 14 : 0)
        let height = top + plotHeight + bottom
        let frame = Frame(left: left, top: top, width: plotWidth, height: plotHeight,
                          x: Self.niceAxis(finite(xValues), includeZero: xIncludesZero),
                          y: Self.niceAxis(finite(yValues), includeZero: yIncludesZero))
        var svg = "<svg class=\"chart\" width=\"\(n(width))\" height=\"\(n(height))\" viewBox=\"0 0 \(n(width)) \(n(height))\" role=\"img\" font-size=\"\(n(fontSize))\">\n"
        if let title { svg += "<text x=\"\(n(left))\" y=\"18\" font-weight=\"600\" font-size=\"13\">\(HTMLText.escape(title))</text>\n" }
        svg += legendSVG
        svg += "<clipPath id=\"\(id)-clip\"><rect x=\"\(n(frame.left))\" y=\"\(n(frame.top))\" width=\"\(n(frame.width))\" height=\"\(n(frame.height))\"/></clipPath>\n"
        svg += renderAxes(frame)
        if !hasData {
            svg += "<text x=\"\(n(frame.left + frame.width / 2))\" y=\"\(n(frame.top + frame.height / 2))\" text-anchor=\"middle\" fill=\"#888\">no data</text>\n"
        }
        svg += "<g clip-path=\"url(#\(id)-clip)\">\n" + renderMarks(frame) + "</g>\n"
        svg += renderTexts(frame)
        return svg + "</svg>"
    }

    /// Pixel mapping of the plot area.
    private struct Frame {
        var left, top, width, height: Double
        var x, y: Axis
        func px(_ value: Double) -> Double { left + (value - x.low) / (x.high - x.low) * width }
        func py(_ value: Double) -> Double { top + height - (value - y.low) / (y.high - y.low) * height }
    }

    private func renderAxes(_ f: Frame) -> String {
        var svg = "<rect x=\"\(n(f.left))\" y=\"\(n(f.top))\" width=\"\(n(f.width))\" height=\"\(n(f.height))\" fill=\"#fff\" stroke=\"#999\"/>\n"
        for t in f.x.ticks {
            let x = f.px(t)
            svg += "<line x1=\"\(n(x))\" y1=\"\(n(f.top))\" x2=\"\(n(x))\" y2=\"\(n(f.top + f.height))\" stroke=\"#eee\"/>"
            svg += "<text x=\"\(n(x))\" y=\"\(n(f.top + f.height + 14))\" text-anchor=\"middle\" fill=\"#444\">\(HTMLText.number(t, decimals: f.x.decimals))</text>\n"
        }
        for t in f.y.ticks {
            let y = f.py(t)
            svg += "<line x1=\"\(n(f.left))\" y1=\"\(n(y))\" x2=\"\(n(f.left + f.width))\" y2=\"\(n(y))\" stroke=\"#eee\"/>"
            svg += "<text x=\"\(n(f.left - 5))\" y=\"\(n(y + 4))\" text-anchor=\"end\" fill=\"#444\">\(HTMLText.number(t, decimals: f.y.decimals))</text>\n"
        }
        if f.y.low < 0 && f.y.high > 0 {
            svg += "<line x1=\"\(n(f.left))\" y1=\"\(n(f.py(0)))\" x2=\"\(n(f.left + f.width))\" y2=\"\(n(f.py(0)))\" stroke=\"#aaa\" stroke-dasharray=\"2 3\"/>\n"
        }
        svg += "<rect x=\"\(n(f.left))\" y=\"\(n(f.top))\" width=\"\(n(f.width))\" height=\"\(n(f.height))\" fill=\"none\" stroke=\"#999\"/>\n"
        svg += "<text x=\"\(n(f.left + f.width / 2))\" y=\"\(n(f.top + f.height + 32))\" text-anchor=\"middle\">\(HTMLText.escape(xLabel))</text>\n"
        let cy = f.top + f.height / 2
        svg += "<text x=\"14\" y=\"\(n(cy))\" text-anchor=\"middle\" transform=\"rotate(-90 14 \(n(cy)))\">\(HTMLText.escape(yLabel))</text>\n"
        return svg
    }

    private func renderMarks(_ f: Frame) -> String {
        var svg = ""
        for band in bands {
            let count = min(band.x.count, band.low.count, band.high.count)
            let rows = (0..<count).map { (band.x[$0], band.low[$0], band.high[$0]) }
            for run in Self.finiteRuns(rows, { $0.0.isFinite && $0.1.isFinite && $0.2.isFinite }) where run.count >= 2 {
                let upper = run.map { "\(n(f.px($0.0))),\(n(f.py($0.2)))" }
                let lower = run.reversed().map { "\(n(f.px($0.0))),\(n(f.py($0.1)))" }
                svg += "<polygon points=\"\((upper + lower).joined(separator: " "))\" fill=\"\(band.color)\" fill-opacity=\"\(band.opacity)\" stroke=\"none\"/>\n"
            }
        }
        for line in lines {
            let dash = line.dashed ? " stroke-dasharray=\"6 4\"" : ""
            for run in Self.finiteRuns(line.points, { $0.x.isFinite && $0.y.isFinite }) where run.count >= 2 {
                let points = run.map { "\(n(f.px($0.x))),\(n(f.py($0.y)))" }.joined(separator: " ")
                svg += "<polyline points=\"\(points)\" fill=\"none\" stroke=\"\(line.color)\" stroke-width=\"\(n(line.width))\" stroke-linejoin=\"round\"\(dash)/>\n"
            }
        }
        for d in dots {
            for p in d.points where p.x.isFinite && p.y.isFinite {
                svg += Self.marker(d.marker, x: f.px(p.x), y: f.py(p.y), r: d.radius, fill: d.color, opacity: d.opacity) + "\n"
            }
        }
        for v in verticals where v.x.isFinite {
            let x = f.px(v.x)
            svg += "<line x1=\"\(n(x))\" y1=\"\(n(f.top))\" x2=\"\(n(x))\" y2=\"\(n(f.top + f.height))\" stroke=\"#888\" stroke-dasharray=\"4 3\"/>"
            let nearRight = x > f.left + 0.8 * f.width  // label to the left of the line, inside the plot
            svg += "<text x=\"\(n(nearRight ? x - 3 : x + 3))\" y=\"\(n(f.top + f.height - 5))\" text-anchor=\"\(nearRight ? "end" : "start")\" fill=\"#666\" font-size=\"10\">\(HTMLText.escape(v.label))</text>\n"
        }
        return svg
    }

    private func renderTexts(_ f: Frame) -> String {
        var svg = ""
        for t in texts where t.x.isFinite && (t.y?.isFinite ?? true) {
            let x = f.px(t.x)
            guard x >= f.left - 1 && x <= f.left + f.width + 1 else { continue }
            let y = t.y.map { f.py($0) - 6 } ?? f.top - 5
            svg += "<text x=\"\(n(x))\" y=\"\(n(y))\" text-anchor=\"middle\" fill=\"\(t.color)\" font-size=\"10\">\(HTMLText.escape(t.text))</text>\n"
        }
        return svg
    }

    /// The legend as rows of swatch + label that wrap at `width`; returns the SVG and the row count.
    private func renderLegend(_ entries: [LegendEntry], top: Double, width: Double) -> (String, Int) {
        guard !entries.isEmpty else { return ("", 0) }
        var svg = "", x = left, row = 0
        for entry in entries {
            let itemWidth = 26 + Double(entry.label.count) * fontSize * 0.58 + 14
            if x > left && x + itemWidth > left + width { x = left; row += 1 }
            let y = top + Double(row) * 16 + 6
            if entry.line {
                let dash = entry.dashed ? " stroke-dasharray=\"5 3\"" : ""
                svg += "<line x1=\"\(n(x))\" y1=\"\(n(y))\" x2=\"\(n(x + 20))\" y2=\"\(n(y))\" stroke=\"\(entry.color)\" stroke-width=\"2\"\(dash)/>"
            }
            if let marker = entry.marker { svg += Self.marker(marker, x: x + 10, y: y, r: 3.5, fill: entry.color, opacity: 0.9) }
            svg += "<text x=\"\(n(x + 26))\" y=\"\(n(y + 4))\" fill=\"#333\">\(HTMLText.escape(entry.label))</text>\n"
            x += itemWidth
        }
        return (svg, row + 1)
    }

    private static func marker(_ marker: Marker, x: Double, y: Double, r: Double, fill: String, opacity: Double) -> String {
        let style = "fill=\"\(fill)\" fill-opacity=\"\(n(opacity))\" stroke=\"#fff\" stroke-width=\"0.6\""
        switch marker {
        case .circle:
            return "<circle cx=\"\(n(x))\" cy=\"\(n(y))\" r=\"\(n(r))\" \(style)/>"
        case .square:
            return "<rect x=\"\(n(x - r * 0.9))\" y=\"\(n(y - r * 0.9))\" width=\"\(n(r * 1.8))\" height=\"\(n(r * 1.8))\" \(style)/>"
        case .triangle:
            return "<path d=\"M\(n(x)),\(n(y - r * 1.15))L\(n(x + r)),\(n(y + r * 0.85))L\(n(x - r)),\(n(y + r * 0.85))Z\" \(style)/>"
        case .diamond:
            return "<path d=\"M\(n(x)),\(n(y - r * 1.2))L\(n(x + r)),\(n(y))L\(n(x)),\(n(y + r * 1.2))L\(n(x - r)),\(n(y))Z\" \(style)/>"
        }
    }

    // MARK: - Data and axes

    private var xValues: [Double] {
        lines.flatMap { $0.points.map(\.x) } + dots.flatMap { $0.points.map(\.x) } + bands.flatMap(\.x) + verticals.map(\.x)
    }

    private var yValues: [Double] {
        lines.flatMap { $0.points.map(\.y) } + dots.flatMap { $0.points.map(\.y) } + bands.flatMap { $0.low + $0.high }
    }

    private var hasData: Bool {
        lines.contains { $0.points.contains { $0.x.isFinite && $0.y.isFinite } }
            || dots.contains { $0.points.contains { $0.x.isFinite && $0.y.isFinite } }
    }

    private func finite(_ values: [Double]) -> [Double] { values.filter(\.isFinite) }

    /// An axis: its nice bounds, ticks and the decimals their labels need.
    struct Axis {
        var low: Double
        var high: Double
        var ticks: [Double]
        var decimals: Int
    }

    /// Bounds widened to multiples of a 1-2-5 step giving about five ticks; [0, 1] without data,
    /// ±1 (or ±10%) around a single value.
    static func niceAxis(_ values: [Double], includeZero: Bool = false, ticks count: Int = 5) -> Axis {
        guard var low = values.min(), var high = values.max() else { return Axis(low: 0, high: 1, ticks: [0, 0.5, 1], decimals: 1) }
        if includeZero { low = min(low, 0); high = max(high, 0) }
        if high - low <= 1e-12 * max(1, abs(low)) {
            let pad = low == 0 ? 1 : abs(low) * 0.1
            low -= pad; high += pad
        }
        let step = niceNumber((high - low) / Double(count - 1), round: true)
        let start = (low / step).rounded(.down) * step, end = (high / step).rounded(.up) * step
        var ticks = [Double](), k = 0.0
        while start + k * step <= end + step * 1e-9 && ticks.count < 50 {
            let t = start + k * step
            ticks.append(abs(t) < step * 1e-9 ? 0 : t)
            k += 1
        }
        var decimals = 0, scaled = step
        while scaled < 1 - 1e-9 && decimals < 12 { scaled *= 10; decimals += 1 }
        return Axis(low: start, high: max(end, start + step), ticks: ticks, decimals: decimals)
    }

    /// Heckbert's nice number: 1, 2, 5 or 10 times a power of ten near `x` (> 0), rounded to the
    /// nearest or (round: false) up.
    static func niceNumber(_ x: Double, round: Bool) -> Double {
        guard x.isFinite && x > 0 else { return 1 }
        var power = 1.0
        while power * 10 <= x { power *= 10 }
        while power > x { power /= 10 }
        let f = x / power
        let nice: Double
        if round { nice = f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10 } else { nice = f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10 }
        return nice * power
    }

    /// Maximal runs of consecutive elements satisfying `isFinite`.
    static func finiteRuns<T>(_ items: [T], _ isFinite: (T) -> Bool) -> [[T]] {
        var runs = [[T]](), current = [T]()
        for item in items {
            if isFinite(item) { current.append(item) } else if !current.isEmpty { runs.append(current); current = [] }
        }
        if !current.isEmpty { runs.append(current) }
        return runs
    }

    /// A pixel coordinate with one decimal.
    private func n(_ value: Double) -> String { Self.n(value) }
    private static func n(_ value: Double) -> String { HTMLText.number(value, decimals: 1) }
}

/// Text helpers of the report: HTML escaping and number formatting without Foundation.
enum HTMLText {
    /// Escapes & < > " ' and breaks "://" (so the page holds no URL, whatever the data says).
    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for c in text {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(c)
            }
        }
        return out.contains("://") ? out.replacing("://", with: "&#58;//") : out
    }

    /// `value` rounded to `decimals` places (`-0` as `0`); `NaN`, `∞` or `−∞` when not finite.
    static func number(_ value: Double, decimals: Int) -> String {
        guard value.isFinite else { return value.isNaN ? "NaN" : (value > 0 ? "∞" : "−∞") }
        var scale = 1.0
        for _ in 0..<max(0, decimals) { scale *= 10 }
        let scaled = (abs(value) * scale).rounded()
        guard scaled < 9e15 else { return String(value) }
        let units = Int64(scaled), whole = units / Int64(scale), fraction = units % Int64(scale)
        var text = String(whole)
        if decimals > 0 {
            let digits = String(fraction)
            text += "." + String(repeating: "0", count: decimals - digits.count) + digits
        }
        return (value < 0 && units != 0 ? "-" : "") + text
    }

    /// An integer with thin-space thousands separators: `1 234 567`.
    static func integer(_ value: Int) -> String {
        let digits = String(value.magnitude)
        var out = ""
        for (i, c) in digits.enumerated() {
            if i > 0 && (digits.count - i) % 3 == 0 { out += "\u{2009}" }
            out.append(c)
        }
        return (value < 0 ? "-" : "") + out
    }
}
