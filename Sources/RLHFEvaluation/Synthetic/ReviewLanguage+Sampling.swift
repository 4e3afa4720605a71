import RLHFTensor

// Sampling from the review grammar: the SFT distribution of the synthetic language.

extension ReviewLanguage {
    /// The sampler's probabilities. The defaults give reviews of 1–4 sentences, mostly consistent
    /// in tone, with a moderate spread of gold reward.
    public struct SamplingWeights: Sendable, Equatable {
        /// Probability that a review's mood is positive / negative (the rest is mixed).
        public var positiveMood = 0.45
        public var negativeMood = 0.35
        /// Probability that an adjective takes the mood's sign (a mixed mood uses ½).
        public var moodConsistency = 0.85
        /// Probability of a two-phrase sentence joined by "and" / by "but" (the rest have one phrase).
        public var andPhrase = 0.3
        public var butPhrase = 0.15
        /// Probability that a phrase has an intensifier.
        public var intensifier = 0.3
        /// Probability that the review ends with a closing sentence.
        public var closing = 0.6
        /// The number of aspect sentences is uniform in 1…maximumAspectSentences (at most the
        /// product's valid aspects).
        public var maximumAspectSentences = 3

        public init() {}
    }

    /// One grammatical, finished review of `product` (which must be one of ``products``):
    /// 1–3 sentences about distinct valid aspects, then a closing sentence whose sentiment follows
    /// the review's mean sentiment, with probability `weights.closing`. Deterministic given the
    /// generator's state.
    public func sample(product: String, generator: inout SeededGenerator,
                       weights: SamplingWeights = SamplingWeights()) -> String {
        precondition(products.contains(product), "ReviewLanguage.sample: unknown product '\(product)'")
        let moodDraw = Self.uniform(&generator)
        let positiveProbability = moodDraw < weights.positiveMood ? weights.moodConsistency
            : moodDraw < weights.positiveMood + weights.negativeMood ? 1 - weights.moodConsistency : 0.5
        var available = validAspects(for: product)
        let count = min(available.count, 1 + Self.index(weights.maximumAspectSentences, &generator))
        var sentences: [String] = []
        var sentimentSum = 0.0
        for _ in 0..<count {
            let aspect = available.remove(at: Self.index(available.count, &generator))
            let subject = aspect.name == Self.overall ? product : aspect.name
            let sign: Double = Self.uniform(&generator) < positiveProbability ? 1 : -1
            let (first, firstFactor) = phrase(aspect, sign: sign, excluding: nil, weights: weights, &generator)
            var text = "The \(subject) is \(first.text)"
            var sentiment = sign * firstFactor
            let joinDraw = Self.uniform(&generator)
            if joinDraw < weights.andPhrase + weights.butPhrase {
                let isAnd = joinDraw < weights.andPhrase
                let secondSign = isAnd ? sign : -sign
                let (second, secondFactor) = phrase(aspect, sign: secondSign, excluding: first.adjective, weights: weights, &generator)
                text += (isAnd ? " and " : " but ") + second.text
                sentiment = (sentiment + secondSign * secondFactor) / 2
            }
            sentences.append(text + ".")
            sentimentSum += sentiment
        }
        if Self.uniform(&generator) < weights.closing {
            let wanted: Double = sentimentSum >= 0 ? 1 : -1
            let choices = closings.filter { $0.sentiment == wanted }
            sentences.append(choices[Self.index(choices.count, &generator)].text + ".")
        }
        return sentences.joined(separator: " ")
    }

    /// `count` (prompt, response) pairs for an SFT corpus: each picks a product uniformly, then
    /// ``sample(product:generator:weights:)``; the same seed gives the same corpus.
    public func samples(count: Int, seed: UInt64,
                        weights: SamplingWeights = SamplingWeights()) -> [(prompt: String, response: String)] {
        var generator = SeededGenerator(seed: seed)
        return (0..<count).map { _ in
            let product = products[Self.index(products.count, &generator)]
            return (prompt(product), sample(product: product, generator: &generator, weights: weights))
        }
    }

    /// "[intensifier] adjective" with the given sign, avoiding `excluding`; returns the text, the
    /// adjective and the intensifier's factor (1 without one).
    private func phrase(_ aspect: Aspect, sign: Double, excluding: String?, weights: SamplingWeights,
                        _ generator: inout SeededGenerator) -> (phrase: (text: String, adjective: String), factor: Double) {
        let adjectives = (sign > 0 ? aspect.positive : aspect.negative).filter { $0 != excluding }
        let adjective = adjectives[Self.index(adjectives.count, &generator)]
        guard Self.uniform(&generator) < weights.intensifier else { return ((adjective, adjective), 1) }
        let intensifier = intensifiers[Self.index(intensifiers.count, &generator)]
        return (("\(intensifier.word) \(adjective)", adjective), intensifier.factor)
    }

    /// A uniform index in 0..<n (modulo reduction: the bias is below 2⁻⁵⁰ for these n, and the
    /// stream does not depend on the standard library's algorithms).
    private static func index(_ n: Int, _ generator: inout SeededGenerator) -> Int {
        Int(generator.next() % UInt64(n))
    }

    /// A uniform double in [0, 1) with 53 random bits.
    private static func uniform(_ generator: inout SeededGenerator) -> Double {
        Double(generator.next() >> 11) * (1.0 / 9_007_199_254_740_992.0)
    }
}
