import RLHFEvaluation
import RLHFRollouts
import RLHFTensor
import Testing

/// The synthetic review language and its gold reward.
@Suite("Synthetic review language")
struct SyntheticLanguageTests {
    static let language = ReviewLanguage()
    static let gold = GoldReward()

    static func terms(_ response: String, product: String = "coffee") throws -> [String: Double] {
        try gold.terms(prompt: language.prompt(product), response: response)
    }

    @Test("samples are deterministic under a seed and parse as fully grammatical and finished")
    func samplesAreDeterministicAndGrammatical() {
        let corpus = Self.language.samples(count: 500, seed: 7)
        let again = Self.language.samples(count: 500, seed: 7)
        let other = Self.language.samples(count: 500, seed: 8)
        #expect(corpus.map(\.response) == again.map(\.response) && corpus.map(\.prompt) == again.map(\.prompt))
        #expect(corpus.map(\.response) != other.map(\.response))
        for (prompt, response) in corpus {
            let product = Self.language.product(inPrompt: prompt) ?? ""
            #expect(!product.isEmpty, "\(prompt)")
            let parse = Self.language.parse(response, product: product)
            #expect(parse.isFullyGrammatical, "\(prompt) → \(response)")
            #expect((1...4).contains(parse.sentences.count), "\(response)")
            #expect(parse.sentences.allSatisfy { $0.validForProduct }, "\(prompt) → \(response)")
            #expect(response.hasSuffix(".") && parse.wordCount <= 30)
        }
        var generator = SeededGenerator(seed: 3), copy = SeededGenerator(seed: 3)
        #expect(Self.language.sample(product: "lamp", generator: &generator) == Self.language.sample(product: "lamp", generator: &copy))
    }

    @Test("the vocabulary is small: at most 400 distinct words over 2,000 samples")
    func vocabularyIsSmall() {
        var words = Set<String>()
        for (prompt, response) in Self.language.samples(count: 2000, seed: 1) {
            words.formUnion(prompt.lowercased().split(separator: " ").map(String.init))
            words.formUnion(response.lowercased().split(whereSeparator: { $0 == " " || $0 == "." }).map(String.init))
        }
        #expect(words.count <= 400, "\(words.count) words")
        #expect(words.count >= 50)
        #expect(words.subtracting(["review:"]).isSubset(of: Self.language.vocabulary))
    }

    @Test("the parser reports aspect, sentiment, intensity, finish and word count")
    func parser() {
        let parse = Self.language.parse("The coffee is very great. The price is fair but high. I would buy it again", product: "coffee")
        #expect(parse.sentences.count == 3 && !parse.finished && parse.wordCount == 16)
        #expect(parse.sentences[0].aspect == "overall" && parse.sentences[0].sentiment == 1.5 && parse.sentences[0].intensity == 1.5)
        #expect(parse.sentences[1].aspect == "price" && parse.sentences[1].sentiment == 0)
        #expect(parse.sentences[2].grammatical && parse.sentences[2].aspect == nil && !parse.sentences[2].finished)
        #expect(!Self.language.parse("The price is fair and high.", product: "tea").sentences[0].grammatical)  // "and" needs one sign
        #expect(!Self.language.parse("The price is fair and fair.", product: "tea").sentences[0].grammatical)
        #expect(!Self.language.parse("The taste is rich.", product: "lamp").sentences[0].validForProduct)
        #expect(Self.language.parse("", product: "tea").sentences.isEmpty)
    }

    @Test("each gold term moves the right way on hand-written responses")
    func goldTermsMoveTheRightWay() throws {
        let positive = try Self.terms("The coffee is great and wonderful. The price is fair. I would buy it again.")
        let negative = try Self.terms("The coffee is disappointing. The price is steep. I would not buy it again.")
        #expect(positive["sentiment"]! > 0 && negative["sentiment"]! < 0)
        #expect(GoldReward.total(positive) > GoldReward.total(negative))
        for name in GoldReward.termNames where !["sentiment", "coverage"].contains(name) {
            #expect(positive[name] == 0 && negative[name] == 0, "\(name)")
        }
        let oneAspect = try Self.terms("The price is fair.")
        let twoAspects = try Self.terms("The price is fair. The taste is rich.")
        let threeAspects = try Self.terms("The price is fair. The taste is rich. The smell is fresh.")
        #expect(oneAspect["coverage"]! < twoAspects["coverage"]! && twoAspects["coverage"]! < threeAspects["coverage"]!)
        #expect(twoAspects["coverage"]! - oneAspect["coverage"]! > threeAspects["coverage"]! - twoAspects["coverage"]!)

        let repeated = try Self.terms("The price is fair. The price is fair. The price is fair.")
        #expect(repeated["repeated-sentences"] == -1.0 && GoldReward.total(repeated) < GoldReward.total(oneAspect))
        let stutter = try Self.terms("The price is is fair.")
        #expect(stutter["repeated-words"]! < 0 && stutter["ungrammatical"]! < 0)

        let unfinished = try Self.terms("The price is fair. The taste is")
        #expect(unfinished["unfinished"] == -1 && unfinished["ungrammatical"] == -1)
        #expect(try Self.terms("")["unfinished"] == -1)

        let ungrammatical = try Self.terms("The price is fair. Price fair good very.")
        #expect(ungrammatical["ungrammatical"] == -1 && GoldReward.total(ungrammatical) < GoldReward.total(oneAspect))

        let long = Array(repeating: "The coffee is very great and really wonderful.", count: 1)
            + ["The taste is very rich and really sweet.", "The smell is very fresh and really lovely.",
               "The price is very fair and really low.", "The packaging is very neat and really sturdy.",
               "I would buy it again."]
        let overlong = try Self.terms(long.joined(separator: " "))
        #expect(overlong["length"]! == -0.1 * Double(8 * 5 + 5 - 30))
        let shorter = try Self.terms(long.suffix(3).joined(separator: " "))
        #expect(shorter["length"] == 0)

        let invalid = try Self.terms("The sound is clear. The price is fair.")
        #expect(invalid["invalid-aspects"] == -1 && invalid["sentiment"] == 1 && invalid["coverage"] == 0.5)
        let otherProduct = try Self.terms("The tea is great.")
        #expect(otherProduct["invalid-aspects"] == -1)
    }

    @Test("gold on the SFT distribution is finite with a non-trivial spread, and scores sum the terms")
    func goldSpreadAndSum() throws {
        let corpus = Self.language.samples(count: 1000, seed: 11)
        let inputs = corpus.map { RewardInput(prompt: $0.prompt, response: $0.response) }
        let scores = try Self.gold.checkedScores(for: inputs)
        #expect(scores.allSatisfy { $0.isFinite })
        let mean = scores.reduce(0, +) / Double(scores.count)
        let std = (scores.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(scores.count - 1)).squareRoot()
        #expect(std > 0.5, "gold std \(std), mean \(mean)")
        for (input, score) in zip(inputs, scores) {
            let terms = try Self.gold.terms(prompt: input.prompt, response: input.response)
            #expect(Set(terms.keys) == Set(GoldReward.termNames))
            #expect(score == GoldReward.total(terms))
        }
        let (_, diagnostics) = try Self.gold.scoresAndDiagnostics(for: inputs)
        #expect(diagnostics.map(\.name) == GoldReward.termNames.map { "gold/" + $0 })
    }

    @Test("a prompt that names no product is a RewardError")
    func unparseablePrompt() {
        #expect(throws: RewardError.self) { try Self.gold.scores(for: [RewardInput(prompt: "Review: bicycle", response: "The price is fair.")]) }
        #expect(throws: RewardError.self) { try Self.gold.scores(for: [RewardInput(prompt: "hello", response: "x")]) }
        #expect(Self.language.product(inPrompt: "<|user|>Review: tea\n<|assistant|>") == "tea")
    }
}
