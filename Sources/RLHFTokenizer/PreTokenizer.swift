/// Splits text into the pieces BPE runs on, reproducing the regular expressions of the common
/// byte-level tokenizers with hand-written scanners (no regex engine):
///
/// - `gpt2`: `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
/// - `llama3`: `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
/// - `smollm`: every \p{N} character is its own piece (llama.cpp's SmolLM pre-tokenizer, the same
///   as Hugging Face's `Digits(individual_digits)`), then `gpt2` on the text between digits.
///
/// Alternatives are tried left to right at each position, as a backtracking regex engine does.
public enum PreTokenizer: String, Sendable, Codable, CaseIterable {
    case gpt2, llama3, smollm

    /// The pieces of `scalars` as index ranges.
    public func split(_ scalars: [Unicode.Scalar]) -> [Range<Int>] {
        var pieces = [Range<Int>]()
        switch self {
        case .gpt2: Self.scanGPT2(scalars, 0..<scalars.count, into: &pieces)
        case .llama3: Self.scanLlama3(scalars, into: &pieces)
        case .smollm:
            var start = 0
            for i in scalars.indices where Self.isNumber(scalars[i]) {
                if start < i { Self.scanGPT2(scalars, start..<i, into: &pieces) }
                pieces.append(i..<(i + 1))
                start = i + 1
            }
            if start < scalars.count { Self.scanGPT2(scalars, start..<scalars.count, into: &pieces) }
        }
        return pieces
    }

    /// The pieces of `text` as strings.
    public func split(_ text: String) -> [String] {
        let scalars = Array(text.unicodeScalars)
        return split(scalars).map { range in
            var piece = String.UnicodeScalarView()
            piece.append(contentsOf: scalars[range])
            return String(piece)
        }
    }

    // MARK: - Character classes

    @inline(__always) static func isLetter(_ s: Unicode.Scalar) -> Bool {
        if s.isASCII { return (s.value | 0x20) >= 0x61 && (s.value | 0x20) <= 0x7A }
        switch s.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return true
        default: return false
        }
    }

    @inline(__always) static func isNumber(_ s: Unicode.Scalar) -> Bool {
        if s.isASCII { return s.value >= 0x30 && s.value <= 0x39 }
        switch s.properties.generalCategory {
        case .decimalNumber, .letterNumber, .otherNumber: return true
        default: return false
        }
    }

    @inline(__always) static func isWhitespace(_ s: Unicode.Scalar) -> Bool {
        if s.isASCII { return s == " " || (s.value >= 0x09 && s.value <= 0x0D) }
        return s.properties.isWhitespace
    }

    @inline(__always) static func isOther(_ s: Unicode.Scalar) -> Bool { !isWhitespace(s) && !isLetter(s) && !isNumber(s) }
    @inline(__always) static func isNewline(_ s: Unicode.Scalar) -> Bool { s == "\n" || s == "\r" }

    /// Length of a contraction (`'s`, `'t`, `'re`, `'ve`, `'m`, `'ll`, `'d`) at i, or 0.
    static func contraction(_ s: [Unicode.Scalar], _ i: Int, end: Int, caseInsensitive: Bool) -> Int {
        guard s[i] == "'", i + 1 < end else { return 0 }
        func lower(_ c: Unicode.Scalar) -> Unicode.Scalar {
            caseInsensitive && c.isASCII && c.value >= 0x41 && c.value <= 0x5A ? Unicode.Scalar(c.value + 32)! : c
        }
        let a = lower(s[i + 1])
        if a == "s" || a == "t" || a == "m" || a == "d" { return 2 }
        if i + 2 < end {
            let b = lower(s[i + 2])
            if (a == "r" && b == "e") || (a == "v" && b == "e") || (a == "l" && b == "l") { return 3 }
        }
        return 0
    }

    /// `\s+(?!\S)|\s+` at i (s[i] is whitespace): the run, minus its last character when a
    /// non-space follows and the run is longer than one.
    static func whitespaceRun(_ s: [Unicode.Scalar], _ i: Int, end: Int) -> Int {
        var j = i
        while j < end && isWhitespace(s[j]) { j += 1 }
        if j < end && j - i > 1 { return j - i - 1 }
        return j - i
    }

    // MARK: - Scanners

    static func scanGPT2(_ s: [Unicode.Scalar], _ range: Range<Int>, into pieces: inout [Range<Int>]) {
        var i = range.lowerBound
        let end = range.upperBound
        while i < end {
            let c = s[i]
            var length = contraction(s, i, end: end, caseInsensitive: false)
            if length == 0 {
                // ` ?X+` for X in letters, numbers, others.
                let start = c == " " && i + 1 < end ? i + 1 : i
                let first = s[start]
                if isLetter(first) {
                    var j = start + 1
                    while j < end && isLetter(s[j]) { j += 1 }
                    length = j - i
                } else if isNumber(first) {
                    var j = start + 1
                    while j < end && isNumber(s[j]) { j += 1 }
                    length = j - i
                } else if isOther(first) {
                    var j = start + 1
                    while j < end && isOther(s[j]) { j += 1 }
                    length = j - i
                } else {
                    length = whitespaceRun(s, i, end: end)
                }
            }
            pieces.append(i..<(i + length))
            i += length
        }
    }

    static func scanLlama3(_ s: [Unicode.Scalar], into pieces: inout [Range<Int>]) {
        var i = 0
        let end = s.count
        while i < end {
            let c = s[i]
            var length = contraction(s, i, end: end, caseInsensitive: true)
            if length == 0 {
                if isLetter(c) || (!isNewline(c) && !isLetter(c) && !isNumber(c) && i + 1 < end && isLetter(s[i + 1])) {
                    // [^\r\n\p{L}\p{N}]?\p{L}+
                    var j = isLetter(c) ? i + 1 : i + 2
                    while j < end && isLetter(s[j]) { j += 1 }
                    length = j - i
                } else if isNumber(c) {
                    var j = i + 1
                    while j < end && j < i + 3 && isNumber(s[j]) { j += 1 }
                    length = j - i
                } else if isOther(c) || (c == " " && i + 1 < end && isOther(s[i + 1])) {
                    // ` ?[^\s\p{L}\p{N}]+[\r\n]*`
                    var j = c == " " ? i + 2 : i + 1
                    while j < end && isOther(s[j]) { j += 1 }
                    while j < end && isNewline(s[j]) { j += 1 }
                    length = j - i
                } else {
                    // \s*[\r\n]+ : the longest whitespace prefix ending in a newline; else \s+(?!\S)|\s+.
                    var j = i
                    var lastNewline = -1
                    while j < end && isWhitespace(s[j]) {
                        if isNewline(s[j]) { lastNewline = j }
                        j += 1
                    }
                    length = lastNewline >= 0 ? lastNewline + 1 - i : whitespaceRun(s, i, end: end)
                }
            }
            pieces.append(i..<(i + length))
            i += length
        }
    }
}
