import RLHFTokenizer
import Testing

/// Pre-tokenizer splits; the expected pieces come from the reference regular expressions run by
/// Python's `regex` module (`\s` as `\p{White_Space}`), and for StarCoder from splitting out every
/// `\p{N}` first.
@Suite("Pre-tokenizers")
struct PreTokenizerTests {
    @Test(arguments: PreTokenizer.allCases)
    func matchesTheRegularExpression(_ kind: PreTokenizer) {
        let cases: [(String, [String])]
        switch kind {
        case .gpt2: cases = Self.gpt2
        case .llama3: cases = Self.llama3
        case .qwen2: cases = Self.qwen2
        case .starCoder: cases = Self.starCoder
        }
        for (text, pieces) in cases {
            let split = kind.split(text)
            #expect(split.count == pieces.count && zip(split, pieces).allSatisfy { $0.unicodeScalars.elementsEqual($1.unicodeScalars) },
                    "\(kind) \(text.debugDescription): \(split)")
            #expect(split.joined().unicodeScalars.elementsEqual(text.unicodeScalars))
        }
    }

    @Test func rangesCoverTheScalars() {
        let scalars = Array("  don't 123 東京\n\n🙂".unicodeScalars)
        for kind in PreTokenizer.allCases {
            let ranges = kind.split(scalars)
            #expect(ranges.first?.lowerBound == 0 && ranges.last?.upperBound == scalars.count)
            #expect(zip(ranges, ranges.dropFirst()).allSatisfy { $0.upperBound == $1.lowerBound && !$0.isEmpty })
        }
        #expect(PreTokenizer.gpt2.split([Unicode.Scalar]()).isEmpty)
    }

    static let gpt2: [(String, [String])] = [
        ("Hello world!", ["Hello", " world", "!"]),
        ("  leading spaces and  double  spaces", [" ", " leading", " spaces", " and", " ", " double", " ", " spaces"]),
        ("Tabs\tand\nnewlines\n\n\nend", ["Tabs", "\t", "and", "\n", "newlines", "\n\n", "\n", "end"]),
        ("don't won't it's we'll they're I'M", ["don", "'t", " won", "'t", " it", "'s", " we", "'ll", " they", "'re", " I", "'", "M"]),
        ("Numbers: 1234567890 and 3.14", ["Numbers", ":", " 1234567890", " and", " 3", ".", "14"]),
        ("Emoji 🙂🚀 and 東京 Москва", ["Emoji", " 🙂🚀", " and", " 東京", " Москва"]),
        ("x  \n  y", ["x", "  \n ", " y"]),
        ("trailing   ", ["trailing", "   "]),
        ("a.\n\nb", ["a", ".", "\n", "\n", "b"]),
        ("(hello) 'sup 'S", ["(", "hello", ")", " '", "sup", " '", "S"]),
        ("\u{A0}nbsp\u{3000}ideographic", ["\u{A0}", "nbsp", "\u{3000}", "ideographic"]),
        ("½ Ⅻ ²", ["½", " Ⅻ", " ²"]),
        ("e\u{301}!", ["e", "\u{301}!"]),
        ("\r\n\r\nz", ["\r\n\r", "\n", "z"]),
        ("  \t\n  'll", ["  \t\n ", " '", "ll"]),
    ]
    static let llama3: [(String, [String])] = [
        ("Hello world!", ["Hello", " world", "!"]),
        ("  leading spaces and  double  spaces", [" ", " leading", " spaces", " and", " ", " double", " ", " spaces"]),
        ("Tabs\tand\nnewlines\n\n\nend", ["Tabs", "\tand", "\n", "newlines", "\n\n\n", "end"]),
        ("don't won't it's we'll they're I'M", ["don", "'t", " won", "'t", " it", "'s", " we", "'ll", " they", "'re", " I", "'M"]),
        ("Numbers: 1234567890 and 3.14", ["Numbers", ":", " ", "123", "456", "789", "0", " and", " ", "3", ".", "14"]),
        ("Emoji 🙂🚀 and 東京 Москва", ["Emoji", " 🙂🚀", " and", " 東京", " Москва"]),
        ("x  \n  y", ["x", "  \n", " ", " y"]),
        ("trailing   ", ["trailing", "   "]),
        ("a.\n\nb", ["a", ".\n\n", "b"]),
        ("(hello) 'sup 'S", ["(hello", ")", " '", "sup", " '", "S"]),
        ("\u{A0}nbsp\u{3000}ideographic", ["\u{A0}nbsp", "\u{3000}ideographic"]),
        ("½ Ⅻ ²", ["½", " ", "Ⅻ", " ", "²"]),
        ("e\u{301}!", ["e", "\u{301}!"]),
        ("\r\n\r\nz", ["\r\n\r\n", "z"]),
        ("  \t\n  'll", ["  \t\n", " ", " '", "ll"]),
    ]
    static let qwen2: [(String, [String])] = [
        ("Hello world!", ["Hello", " world", "!"]),
        ("  leading spaces and  double  spaces", [" ", " leading", " spaces", " and", " ", " double", " ", " spaces"]),
        ("Tabs\tand\nnewlines\n\n\nend", ["Tabs", "\tand", "\n", "newlines", "\n\n\n", "end"]),
        ("don't won't it's we'll they're I'M", ["don", "'t", " won", "'t", " it", "'s", " we", "'ll", " they", "'re", " I", "'M"]),
        ("Numbers: 1234567890 and 3.14", ["Numbers", ":", " ", "1", "2", "3", "4", "5", "6", "7", "8", "9", "0", " and", " ", "3", ".", "1", "4"]),
        ("Emoji 🙂🚀 and 東京 Москва", ["Emoji", " 🙂🚀", " and", " 東京", " Москва"]),
        ("x  \n  y", ["x", "  \n", " ", " y"]),
        ("trailing   ", ["trailing", "   "]),
        ("a.\n\nb", ["a", ".\n\n", "b"]),
        ("(hello) 'sup 'S", ["(hello", ")", " '", "sup", " '", "S"]),
        ("\u{A0}nbsp\u{3000}ideographic", ["\u{A0}nbsp", "\u{3000}ideographic"]),
        ("½ Ⅻ ²", ["½", " ", "Ⅻ", " ", "²"]),
        ("e\u{301}!", ["e", "\u{301}!"]),
        ("\r\n\r\nz", ["\r\n\r\n", "z"]),
        ("  \t\n  'll", ["  \t\n", " ", " '", "ll"]),
    ]
    static let starCoder: [(String, [String])] = [
        ("Hello world!", ["Hello", " world", "!"]),
        ("  leading spaces and  double  spaces", [" ", " leading", " spaces", " and", " ", " double", " ", " spaces"]),
        ("Tabs\tand\nnewlines\n\n\nend", ["Tabs", "\t", "and", "\n", "newlines", "\n\n", "\n", "end"]),
        ("don't won't it's we'll they're I'M", ["don", "'t", " won", "'t", " it", "'s", " we", "'ll", " they", "'re", " I", "'", "M"]),
        ("Numbers: 1234567890 and 3.14", ["Numbers", ":", " ", "1", "2", "3", "4", "5", "6", "7", "8", "9", "0", " and", " ", "3", ".", "1", "4"]),
        ("Emoji 🙂🚀 and 東京 Москва", ["Emoji", " 🙂🚀", " and", " 東京", " Москва"]),
        ("x  \n  y", ["x", "  \n ", " y"]),
        ("trailing   ", ["trailing", "   "]),
        ("a.\n\nb", ["a", ".", "\n", "\n", "b"]),
        ("(hello) 'sup 'S", ["(", "hello", ")", " '", "sup", " '", "S"]),
        ("\u{A0}nbsp\u{3000}ideographic", ["\u{A0}", "nbsp", "\u{3000}", "ideographic"]),
        ("½ Ⅻ ²", ["½", " ", "Ⅻ", " ", "²"]),
        ("e\u{301}!", ["e", "\u{301}!"]),
        ("\r\n\r\nz", ["\r\n\r", "\n", "z"]),
        ("  \t\n  'll", ["  \t\n ", " '", "ll"]),
    ]
}
