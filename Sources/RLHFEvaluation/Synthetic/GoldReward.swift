import RLHFAlignment
import RLHFRollouts

/// The programmatic *gold* reward of the review language: an interpretable sum of terms computed
/// from ``ReviewLanguage/parse(_:product:)``, standing in for human judgement in a Gao-style
/// over-optimisation demo (proxies are trained on pairs it labels, RL then optimises the proxies).
///
/// With P the parse of the response for the product named in the prompt (`"Review: coffee"`),
/// V its grammatical sentences that are valid for the product (closings included) and w the
/// ``Weights``, the terms are
///
///     sentiment          =  w.sentiment · mean_{s ∈ V} s.sentiment          (0 when V is empty; |·| ≤ 1.5)
///     coverage           =  w.coverage · (1 − 2^−k),  k = distinct aspects among V (overall counts, closings do not)
///     ungrammatical      = −w.ungrammatical · #(sentences the grammar does not derive)
///     unfinished         = −w.unfinished · [the response is empty or does not end with "."]
///     repeated-sentences = −w.repeatedSentence · #(sentences whose words equal an earlier sentence's)
///     repeated-words     = −w.repeatedWord · #(words equal to the word just before them)
///     length             = −w.length · max(0, words − w.lengthBudget)
///     invalid-aspects    = −w.invalidAspect · #(grammatical aspect sentences not valid for the product)
///
/// and the reward is their sum, in ``termNames`` order. The defaults: sentiment 1, coverage 1,
/// ungrammatical 1, unfinished 1, repeated sentence 0.5, repeated word 0.25, length 0.1 per word
/// beyond 30. Samples of ``ReviewLanguage/sample(product:generator:weights:)`` are never penalised
/// (they are at most 30 words), so their spread comes from sentiment and coverage; a proxy that
/// learns "more positive sentences is better" can be exploited, since the mean sentiment
/// saturates at 1.5 and coverage at 1 while the length and repetition penalties grow without bound.
public struct GoldReward: DiagnosingRewardSource {
    /// The weight of each term (all non-negative; penalties are subtracted).
    public struct Weights: Sendable, Equatable {
        public var sentiment = 1.0
        public var coverage = 1.0
        public var ungrammatical = 1.0
        public var unfinished = 1.0
        public var repeatedSentence = 0.5
        public var repeatedWord = 0.25
        /// Per word beyond ``lengthBudget``.
        public var length = 0.1
        public var lengthBudget = 30
        public var invalidAspect = 1.0

        public init() {}
    }

    /// The terms, in the order ``scores(for:)`` sums them.
    public static let termNames = [
        "sentiment", "coverage", "ungrammatical", "unfinished", "repeated-sentences", "repeated-words", "length",
        "invalid-aspects",
    ]

    public let language: ReviewLanguage
    public let weights: Weights

    public init(language: ReviewLanguage = ReviewLanguage(), weights: Weights = Weights()) {
        self.language = language
        self.weights = weights
    }

    public var name: String { "gold" }

    /// Each term for one response (keys: ``termNames``).
    /// - Throws: ``RewardError`` when the prompt names no product of the language.
    public func terms(prompt: String, response: String) throws -> [String: Double] {
        guard let product = language.product(inPrompt: prompt) else {
            throw RewardError(
                source: name,
                reason: "the prompt '\(prompt.prefix(80))' names no product as 'Review: PRODUCT' "
                    + "(known: \(language.products.joined(separator: ", ")))")
        }
        return terms(language.parse(response, product: product))
    }

    /// Each term for a parsed response (keys: ``termNames``).
    public func terms(_ parse: ReviewLanguage.Parse) -> [String: Double] {
        let valid = parse.sentences.filter(\.validForProduct)
        let meanSentiment = valid.isEmpty ? 0 : valid.map(\.sentiment).reduce(0, +) / Double(valid.count)
        let aspects = Set(valid.compactMap(\.aspect))
        var seen = Set<[String]>()
        let repeatedSentences = parse.sentences.filter { !$0.words.isEmpty && !seen.insert($0.words).inserted }.count
        let repeatedWords = zip(parse.words, parse.words.dropFirst()).filter { $0 == $1 }.count
        let invalid = parse.sentences.filter { $0.grammatical && !$0.validForProduct }.count
        return [
            "sentiment": weights.sentiment * meanSentiment,
            "coverage": weights.coverage * (1 - 1 / Double(1 << min(aspects.count, 60))),
            "ungrammatical": -weights.ungrammatical * Double(parse.sentences.filter { !$0.grammatical }.count),
            "unfinished": parse.finished ? 0 : -weights.unfinished,
            "repeated-sentences": -weights.repeatedSentence * Double(repeatedSentences),
            "repeated-words": -weights.repeatedWord * Double(repeatedWords),
            "length": -weights.length * Double(max(0, parse.wordCount - weights.lengthBudget)),
            "invalid-aspects": -weights.invalidAspect * Double(invalid),
        ]
    }

    /// The sum of the terms, in ``termNames`` order.
    public static func total(_ terms: [String: Double]) -> Double {
        termNames.reduce(0) { $0 + (terms[$1] ?? 0) }
    }

    public func scores(for inputs: [RewardInput]) throws -> [Double] {
        try scoresAndDiagnostics(for: inputs).scores
    }

    /// The scores, and the batch mean of each term as `gold/TERM`.
    public func scoresAndDiagnostics(for inputs: [RewardInput]) throws -> (scores: [Double], diagnostics: [Diagnostic]) {
        let allTerms = try inputs.enumerated().map { index, input in
            do { return try terms(prompt: input.prompt, response: input.response) } catch let error as RewardError {
                throw RewardError(source: name, reason: "response \(index + 1) of \(inputs.count): \(error.reason)")
            }
        }
        let count = Double(max(1, inputs.count))
        let diagnostics = Self.termNames.map { term in
            Diagnostic(name: "gold/" + term, value: allTerms.map { $0[term] ?? 0 }.reduce(0, +) / count)
        }
        return (allTerms.map(Self.total), diagnostics)
    }
}
