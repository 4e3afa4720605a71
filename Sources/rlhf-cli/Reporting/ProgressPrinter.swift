import Foundation

/// Progress on standard error: a bar redrawn in place on a TTY, plain lines otherwise (CI logs,
/// pipes: the first step, every `plainEvery`-th and the last).
struct ProgressPrinter {
    var plainEvery = 10
    private var barShown = false

    init(plainEvery: Int = 10) { self.plainEvery = plainEvery }

    /// One step of `total`, with its label.
    mutating func step(_ step: Int, of total: Int, _ label: String) {
        let line = Terminal.progressBar(fraction: Double(step) / Double(max(1, total)), label: "step \(step)/\(total) " + label)
        if Terminal.isInteractive {
            Terminal.error("\r" + line + "   ")
            barShown = true
        } else if step == 1 || step % plainEvery == 0 || step == total {
            Terminal.error(line + "\n")
        }
    }

    /// A line of its own (an evaluation, a checkpoint, a note), below the bar.
    mutating func line(_ text: String) {
        Terminal.error((barShown ? "\n" : "") + text + "\n")
        barShown = false
    }
}
