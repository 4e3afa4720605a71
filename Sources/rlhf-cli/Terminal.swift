import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writing progress to the terminal (standard error), with a redrawn bar on a TTY and plain lines
/// otherwise (CI logs, pipes).
enum Terminal {
    static let isInteractive = isatty(2) == 1

    static func error(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }

    /// `[#########.........] label`, redrawn in place on a TTY.
    static func progressBar(fraction: Double, width: Int = 30, label: String) -> String {
        let filled = max(0, min(width, Int((fraction * Double(width)).rounded())))
        return "[" + String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled) + "] " + label
    }

    /// `42s`, `3m07s`.
    static func duration(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return s >= 60 ? "\(s / 60)m\(String(format: "%02d", s % 60))s" : "\(s)s"
    }
}
