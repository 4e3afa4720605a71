/// Splits text into the pieces BPE runs on, reproducing the regular expressions of the common
/// byte-level tokenizers with hand-written scanners (no regex engine):
///
/// - `gpt2`: `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
/// - `llama3`: `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
/// - `qwen2`: the `llama3` expression with `\p{N}` (one digit per piece) instead of `\p{N}{1,3}`.
/// - `starCoder`: every \p{N} character is its own piece, then `gpt2` on the text between digits:
///   Hugging Face's `Sequence[Digits(individual_digits: true), ByteLevel]` (StarCoder's and SmolLM
///   v1's `tokenizer.json`; llama.cpp's `starcoder`/`smollm` pre-tokenizer). SmolLM2's own
///   tokenizer has no `Digits` step: it is `gpt2` (see ``GGUFPreTokenization``).
///
/// Alternatives are tried left to right at each position, as a backtracking regex engine does.
/// `\p{L}` is general category L*, `\p{N}` is N*, `\s` is the Unicode `White_Space` property.
/// Case-insensitive contractions fold `'S`, `'T`, … and `'ſ` (U+017F folds to `s`), as Oniguruma does.
public enum PreTokenizer: String, Sendable, Codable, CaseIterable {
    case gpt2, llama3, qwen2
    case starCoder = "starcoder"

    /// The pieces of `scalars` as index ranges.
    public func split(_ scalars: [Unicode.Scalar]) -> [Range<Int>] {
        var classified = ClassifiedText()
        for scalar in scalars { classified.append(scalar) }
        var ends = [Int32]()
        split(classified, into: &ends)
        var pieces = [Range<Int>]()
        pieces.reserveCapacity(ends.count)
        var start = 0
        for end in ends {
            pieces.append(start..<Int(end))
            start = Int(end)
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

    /// Appends the end index (exclusive, in scalars) of each piece of `text` to `ends`.
    func split(_ text: ClassifiedText, into ends: inout [Int32]) {
        let count = text.classes.count
        switch self {
        case .gpt2: Self.scanGPT2(text, 0, count, into: &ends)
        case .llama3: Self.scanLlama3(text, maxDigits: 3, into: &ends)
        case .qwen2: Self.scanLlama3(text, maxDigits: 1, into: &ends)
        case .starCoder:
            var start = 0
            for i in 0..<count where text.classes[i] & CharacterClass.number != 0 {
                if start < i { Self.scanGPT2(text, start, i, into: &ends) }
                ends.append(Int32(i + 1))
                start = i + 1
            }
            if start < count { Self.scanGPT2(text, start, count, into: &ends) }
        }
    }

    // MARK: - Scanners

    /// Length of a contraction (`'s`, `'t`, `'re`, `'ve`, `'m`, `'ll`, `'d`) at i, or 0.
    @inline(__always)
    static func contraction(_ v: [UInt32], _ i: Int, end: Int, caseInsensitive: Bool) -> Int {
        guard v[i] == 0x27, i + 1 < end else { return 0 }
        @inline(__always) func fold(_ c: UInt32) -> UInt32 {
            guard caseInsensitive else { return c }
            if c >= 0x41 && c <= 0x5A { return c + 32 }
            return c == 0x17F ? 0x73 : c  // LATIN SMALL LETTER LONG S folds to 's'
        }
        let a = fold(v[i + 1])
        if a == 0x73 || a == 0x74 || a == 0x6D || a == 0x64 { return 2 }  // s t m d
        if i + 2 < end {
            let b = fold(v[i + 2])
            if (a == 0x72 && b == 0x65) || (a == 0x76 && b == 0x65) || (a == 0x6C && b == 0x6C) { return 3 }  // re ve ll
        }
        return 0
    }

    /// `\s+(?!\S)|\s+` at i (a whitespace character): the run, less its last character when a
    /// non-space follows and the run is longer than one.
    @inline(__always)
    static func whitespaceRun(_ c: [UInt8], _ i: Int, end: Int) -> Int {
        var j = i + 1
        while j < end && c[j] & CharacterClass.space != 0 { j += 1 }
        if j < end && j - i > 1 { return j - i - 1 }
        return j - i
    }

    static func scanGPT2(_ text: ClassifiedText, _ lo: Int, _ end: Int, into ends: inout [Int32]) {
        let c = text.classes, v = text.values
        var i = lo
        while i < end {
            let k = c[i]
            var length = k == 0 ? contraction(v, i, end: end, caseInsensitive: false) : 0
            if length == 0 {
                // ` ?X+` for X in letters, numbers, others; else whitespace.
                let start = k & CharacterClass.blank != 0 && i + 1 < end ? i + 1 : i
                let first = c[start]
                if first & CharacterClass.letter != 0 {
                    var j = start + 1
                    while j < end && c[j] & CharacterClass.letter != 0 { j += 1 }
                    length = j - i
                } else if first & CharacterClass.number != 0 {
                    var j = start + 1
                    while j < end && c[j] & CharacterClass.number != 0 { j += 1 }
                    length = j - i
                } else if first == 0 {
                    var j = start + 1
                    while j < end && c[j] == 0 { j += 1 }
                    length = j - i
                } else {
                    length = whitespaceRun(c, i, end: end)
                }
            }
            i += length
            ends.append(Int32(i))
        }
    }

    static func scanLlama3(_ text: ClassifiedText, maxDigits: Int, into ends: inout [Int32]) {
        let c = text.classes, v = text.values
        let end = c.count
        var i = 0
        while i < end {
            let k = c[i]
            var length = k == 0 ? contraction(v, i, end: end, caseInsensitive: true) : 0
            if length == 0 {
                if k & CharacterClass.letter != 0
                    || (k & (CharacterClass.newline | CharacterClass.number) == 0 && i + 1 < end
                        && c[i + 1] & CharacterClass.letter != 0) {
                    // [^\r\n\p{L}\p{N}]?\p{L}+
                    var j = k & CharacterClass.letter != 0 ? i + 1 : i + 2
                    while j < end && c[j] & CharacterClass.letter != 0 { j += 1 }
                    length = j - i
                } else if k & CharacterClass.number != 0 {
                    // \p{N}{1,maxDigits}
                    var j = i + 1
                    while j < end && j < i + maxDigits && c[j] & CharacterClass.number != 0 { j += 1 }
                    length = j - i
                } else if k == 0 || (k & CharacterClass.blank != 0 && i + 1 < end && c[i + 1] == 0) {
                    // ` ?[^\s\p{L}\p{N}]+[\r\n]*`
                    var j = k == 0 ? i + 1 : i + 2
                    while j < end && c[j] == 0 { j += 1 }
                    while j < end && c[j] & CharacterClass.newline != 0 { j += 1 }
                    length = j - i
                } else {
                    // \s*[\r\n]+ : the longest whitespace prefix ending in a newline; else \s+(?!\S)|\s+.
                    var j = i
                    var lastNewline = -1
                    while j < end && c[j] & CharacterClass.space != 0 {
                        if c[j] & CharacterClass.newline != 0 { lastNewline = j }
                        j += 1
                    }
                    length = lastNewline >= 0 ? lastNewline + 1 - i : whitespaceRun(c, i, end: end)
                }
            }
            i += length
            ends.append(Int32(i))
        }
    }
}

/// Character classes of the pre-tokenizer expressions, as bit flags. A class of 0 is "other"
/// (`[^\s\p{L}\p{N}]`).
enum CharacterClass {
    static let letter: UInt8 = 1
    static let number: UInt8 = 2
    /// `\s`.
    static let space: UInt8 = 4
    /// `[\r\n]` (also `space`).
    static let newline: UInt8 = 8
    /// U+0020, the optional prefix ` ?` (also `space`).
    static let blank: UInt8 = 16

    static let ascii: [UInt8] = (0..<128).map { value -> UInt8 in
        switch value {
        case 0x41...0x5A, 0x61...0x7A: return letter
        case 0x30...0x39: return number
        case 0x20: return space | blank
        case 0x0A, 0x0D: return space | newline
        case 0x09, 0x0B, 0x0C: return space
        default: return 0
        }
    }

    @inline(__always) static func of(_ scalar: Unicode.Scalar) -> UInt8 {
        if scalar.value < 128 { return ascii[Int(scalar.value)] }
        let properties = scalar.properties
        switch properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return letter
        case .decimalNumber, .letterNumber, .otherNumber: return number
        default: return properties.isWhitespace ? space : 0
        }
    }
}

/// Unicode scalars of a text with their classes (and, when built from UTF-8, byte offsets).
struct ClassifiedText {
    var values: [UInt32] = []
    var classes: [UInt8] = []
    /// Byte offset of each scalar, plus the total length at the end (only when built from UTF-8).
    var offsets: [Int32] = []

    mutating func append(_ scalar: Unicode.Scalar) {
        values.append(scalar.value)
        classes.append(CharacterClass.of(scalar))
    }

    /// Replaces the contents with the scalars of valid UTF-8 `bytes`.
    mutating func assign(utf8 bytes: UnsafeBufferPointer<UInt8>) {
        values.removeAll(keepingCapacity: true)
        classes.removeAll(keepingCapacity: true)
        offsets.removeAll(keepingCapacity: true)
        let n = bytes.count
        var i = 0
        while i < n {
            let b0 = UInt32(bytes[i])
            offsets.append(Int32(i))
            if b0 < 0x80 {
                values.append(b0)
                classes.append(CharacterClass.ascii[Int(b0)])
                i += 1
                continue
            }
            var value: UInt32
            if b0 < 0xE0 {
                value = (b0 & 0x1F) << 6 | (UInt32(bytes[i + 1]) & 0x3F)
                i += 2
            } else if b0 < 0xF0 {
                value = (b0 & 0x0F) << 12 | (UInt32(bytes[i + 1]) & 0x3F) << 6 | (UInt32(bytes[i + 2]) & 0x3F)
                i += 3
            } else {
                value = (b0 & 0x07) << 18 | (UInt32(bytes[i + 1]) & 0x3F) << 12
                    | (UInt32(bytes[i + 2]) & 0x3F) << 6 | (UInt32(bytes[i + 3]) & 0x3F)
                i += 4
            }
            values.append(value)
            classes.append(CharacterClass.of(Unicode.Scalar(value) ?? "\u{FFFD}"))
        }
        offsets.append(Int32(n))
    }
}
