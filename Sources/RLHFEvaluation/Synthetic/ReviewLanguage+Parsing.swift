import Foundation

// Parsing a response against the review grammar: what the gold reward is built on.

extension ReviewLanguage {
    /// What the parser makes of one response.
    public struct Parse: Sendable, Equatable {
        /// The response's sentences, in order; an unfinished trailing fragment is the last one.
        public let sentences: [Sentence]
        /// Whether the trimmed response is non-empty and ends with ".".
        public let finished: Bool
        /// The words of the whole response: maximal runs of characters other than whitespace and
        /// ".", lowercased.
        public let words: [String]

        /// The number of words.
        public var wordCount: Int { words.count }
        /// The sentences the grammar derives.
        public var grammatical: [Sentence] { sentences.filter(\.grammatical) }
        /// Whether every sentence is grammatical and the text is finished (and not empty).
        public var isFullyGrammatical: Bool { finished && sentences.allSatisfy(\.grammatical) }
    }

    /// One sentence of a response and its analysis.
    public struct Sentence: Sendable, Equatable {
        /// The sentence's words, lowercased (without its period).
        public let words: [String]
        /// Whether it ended with "." (false only for a trailing fragment).
        public let finished: Bool
        /// Whether the grammar derives it (see ``ReviewLanguage``); a fragment is judged on its words.
        public let grammatical: Bool
        /// The aspect it talks about (`"overall"` when its subject is a product name); nil for a
        /// closing or an ungrammatical sentence.
        public let aspect: String?
        /// The subject word (an aspect noun or a product name), for aspect sentences.
        public let subject: String?
        /// Whether it is grammatical and, for an aspect sentence, its aspect is valid for the reviewed
        /// product (for `overall`: its subject is the reviewed product). Closings are always valid.
        public let validForProduct: Bool
        /// The mean over its adjectives of sign × intensifier factor (a closing: ±1); 0 when
        /// ungrammatical. In [−1.5, 1.5].
        public let sentiment: Double
        /// The mean intensifier factor over its adjectives (1 without intensifiers; 0 when
        /// ungrammatical).
        public let intensity: Double
    }

    /// Splits `response` into sentences at each "." and parses each against the grammar, for a
    /// review of `product`.
    ///
    /// Words are compared lowercased, so capitalisation is free. A sentence with no words (as in
    /// "..") is ungrammatical; text after the last "." is an unfinished trailing sentence.
    public func parse(_ response: String, product: String) -> Parse {
        let text = response.trimmingCharacters(in: .whitespacesAndNewlines)
        var pieces = text.split(separator: ".", omittingEmptySubsequences: false).map(Self.words)
        let finished = text.hasSuffix(".")
        if finished || text.isEmpty { pieces.removeLast() }  // the empty piece after the final "."
        let sentences = pieces.enumerated().map { index, words in
            sentence(words, finished: finished || index < pieces.count - 1, product: product)
        }
        return Parse(sentences: sentences, finished: finished, words: pieces.flatMap { $0 })
    }

    /// The lowercased words of a piece of text (runs of non-whitespace).
    private static func words<Text: StringProtocol>(_ text: Text) -> [String] {
        text.split(whereSeparator: { $0.isWhitespace }).map { $0.lowercased() }
    }

    private func sentence(_ words: [String], finished: Bool, product: String) -> Sentence {
        let ungrammatical = Sentence(words: words, finished: finished, grammatical: false, aspect: nil, subject: nil,
                                     validForProduct: false, sentiment: 0, intensity: 0)
        if let closing = closings.first(where: { Self.words($0.text) == words }) {
            return Sentence(words: words, finished: finished, grammatical: true, aspect: nil, subject: nil,
                            validForProduct: true, sentiment: closing.sentiment, intensity: 1)
        }
        guard words.count >= 4, words[0] == "the", words[2] == "is" else { return ungrammatical }
        let subject = words[1]
        let aspect: Aspect
        let valid: Bool
        if products.contains(subject), let overall = self.aspect(named: Self.overall) {
            aspect = overall
            valid = subject == product
        } else if subject != Self.overall, let named = self.aspect(named: subject) {
            aspect = named
            valid = named.products.contains(product)
        } else {
            return ungrammatical
        }
        // phrase [("and" | "but") phrase]
        var rest = words[3...]
        guard let first = phrase(&rest, aspect) else { return ungrammatical }
        var phrases = [first]
        if let joiner = rest.first {
            rest = rest.dropFirst()
            guard joiner == "and" || joiner == "but", let second = phrase(&rest, aspect), rest.isEmpty,
                  second.adjective != first.adjective,
                  (joiner == "and") == (second.sign == first.sign)
            else { return ungrammatical }
            phrases.append(second)
        }
        let count = Double(phrases.count)
        return Sentence(words: words, finished: finished, grammatical: true, aspect: aspect.name, subject: subject,
                        validForProduct: valid,
                        sentiment: phrases.map { $0.sign * $0.factor }.reduce(0, +) / count,
                        intensity: phrases.map(\.factor).reduce(0, +) / count)
    }

    /// Reads "[intensifier] adjective" of `aspect` from the front of `words`.
    private func phrase(_ words: inout ArraySlice<String>, _ aspect: Aspect) -> (adjective: String, sign: Double, factor: Double)? {
        var factor = 1.0
        if let word = words.first, let intensifier = intensifiers.first(where: { $0.word == word }) {
            factor = intensifier.factor
            words = words.dropFirst()
        }
        guard let adjective = words.first, let sign = aspect.sentiment(of: adjective) else { return nil }
        words = words.dropFirst()
        return (adjective, sign, factor)
    }
}
