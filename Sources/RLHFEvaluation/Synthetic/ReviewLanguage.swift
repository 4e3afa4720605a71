import Foundation

/// A tiny, human-readable synthetic language of product reviews, for demos and tests that need a
/// policy to learn *something* in a minute and a gold reward that can say exactly what is good.
///
/// A prompt names a product (`"Review: coffee"`); a response is one to four sentences:
///
///     The coffee is rich and smooth. The price is fair. I would buy it again.
///
/// The grammar (case-insensitive; a sentence ends with `"."`):
///
///     review      := sentence+                       (sampled: 1–3 aspect sentences, then an optional closing)
///     sentence    := aspect-sentence "." | closing "."
///     aspect-sentence := "The" SUBJECT "is" phrase [("and" | "but") phrase]
///     SUBJECT     := an aspect noun (taste, price, …) | a product name (aspect "overall")
///     phrase      := [intensifier] adjective          (an adjective of SUBJECT's aspect)
///     closing     := "I would buy it again" | "I would not buy it again" | "I recommend it" | "I do not recommend it"
///
/// With two phrases, "and" joins adjectives of the same sentiment and "but" adjectives of opposite
/// sentiment, and the two adjectives differ. Every aspect has three positive and three negative
/// adjectives; each aspect is valid only for some products (a lamp has no taste), which the parser
/// reports but the grammar does not enforce. The whole vocabulary is about a hundred words, so a
/// byte-level model learns it quickly.
///
/// Sampling is in ``sample(product:generator:)`` (ReviewLanguage+Sampling.swift); parsing in
/// ``parse(_:product:)`` (ReviewLanguage+Parsing.swift).
public struct ReviewLanguage: Sendable {
    /// One thing a review can talk about, with its adjectives and the products it applies to.
    public struct Aspect: Sendable, Equatable {
        /// The noun used as the sentence subject ("price"); `"overall"` has the product name instead.
        public let name: String
        /// Adjectives with sentiment +1.
        public let positive: [String]
        /// Adjectives with sentiment −1.
        public let negative: [String]
        /// The products for which this aspect is valid (every product for `"overall"`).
        public let products: [String]

        public init(name: String, positive: [String], negative: [String], products: [String]) {
            self.name = name
            self.positive = positive
            self.negative = negative
            self.products = products
        }

        /// +1, −1, or nil when `adjective` is not one of this aspect's.
        public func sentiment(of adjective: String) -> Double? {
            if positive.contains(adjective) { return 1 }
            if negative.contains(adjective) { return -1 }
            return nil
        }
    }

    /// A closing sentence (without its period) and its sentiment (±1).
    public struct Closing: Sendable, Equatable {
        public let text: String
        public let sentiment: Double
    }

    /// The name of the aspect whose subject is the product itself ("The coffee is great.").
    public static let overall = "overall"

    /// The products, in a fixed order (prompts are `"Review: PRODUCT"`).
    public let products: [String]
    /// The aspects, `overall` included.
    public let aspects: [Aspect]
    /// Intensifiers and the factor each multiplies an adjective's sentiment by.
    public let intensifiers: [(word: String, factor: Double)]
    /// The closing sentences.
    public let closings: [Closing]

    /// The standard language: 12 products, 10 aspects plus `overall`, 3 intensifiers, 4 closings.
    public init() {
        products = ["coffee", "tea", "chocolate", "soap", "shampoo", "candle",
                    "lamp", "chair", "backpack", "speaker", "blanket", "mug"]
        let all = products
        aspects = [
            Aspect(name: "taste", positive: ["rich", "smooth", "sweet"], negative: ["bitter", "bland", "sour"],
                   products: ["coffee", "tea", "chocolate"]),
            Aspect(name: "smell", positive: ["pleasant", "fresh", "lovely"], negative: ["harsh", "faint", "awful"],
                   products: ["coffee", "tea", "chocolate", "soap", "shampoo", "candle"]),
            Aspect(name: "price", positive: ["fair", "low", "reasonable"], negative: ["high", "steep", "silly"],
                   products: all),
            Aspect(name: "packaging", positive: ["neat", "sturdy", "pretty"], negative: ["flimsy", "messy", "wasteful"],
                   products: ["coffee", "tea", "chocolate", "soap", "shampoo", "candle"]),
            Aspect(name: "texture", positive: ["soft", "smooth", "creamy"], negative: ["rough", "gritty", "sticky"],
                   products: ["chocolate", "soap", "shampoo", "blanket"]),
            Aspect(name: "sound", positive: ["clear", "crisp", "warm"], negative: ["muddy", "tinny", "harsh"],
                   products: ["speaker"]),
            Aspect(name: "comfort", positive: ["great", "superb", "excellent"], negative: ["poor", "lacking", "awful"],
                   products: ["chair", "backpack", "blanket"]),
            Aspect(name: "design", positive: ["elegant", "modern", "clever"], negative: ["ugly", "dated", "clumsy"],
                   products: ["candle", "lamp", "chair", "backpack", "speaker", "mug"]),
            Aspect(name: "size", positive: ["ideal", "handy", "compact"], negative: ["awkward", "bulky", "tiny"],
                   products: ["lamp", "chair", "backpack", "speaker", "blanket", "mug"]),
            Aspect(name: "quality", positive: ["excellent", "solid", "superb"], negative: ["poor", "shoddy", "weak"],
                   products: ["coffee", "tea", "lamp", "chair", "backpack", "speaker", "mug"]),
            Aspect(name: Self.overall, positive: ["great", "wonderful", "lovely"], negative: ["terrible", "disappointing", "awful"],
                   products: all),
        ]
        intensifiers = [("very", 1.5), ("really", 1.5), ("quite", 1.25)]
        closings = [
            Closing(text: "I would buy it again", sentiment: 1),
            Closing(text: "I would not buy it again", sentiment: -1),
            Closing(text: "I recommend it", sentiment: 1),
            Closing(text: "I do not recommend it", sentiment: -1),
        ]
    }

    /// The prompt for `product`: `"Review: coffee"`.
    public func prompt(_ product: String) -> String { "Review: \(product)" }

    /// The product a prompt names: the first word after its last `"Review:"`, when it is one of
    /// ``products`` (so a chat template around the prompt does no harm); nil otherwise.
    public func product(inPrompt prompt: String) -> String? {
        guard let marker = prompt.range(of: "Review:", options: .backwards) else { return nil }
        let word = prompt[marker.upperBound...].drop { $0.isWhitespace }.prefix { $0.isLetter }.lowercased()
        return products.contains(word) ? word : nil
    }

    /// The aspect called `name`, if any.
    public func aspect(named name: String) -> Aspect? { aspects.first { $0.name == name } }

    /// The aspects valid for `product`, `overall` last.
    public func validAspects(for product: String) -> [Aspect] { aspects.filter { $0.products.contains(product) } }

    /// Every word the grammar can produce, lowercased (about a hundred).
    public var vocabulary: Set<String> {
        var words: Set<String> = ["the", "is", "and", "but"]
        words.formUnion(products)
        for aspect in aspects {
            if aspect.name != Self.overall { words.insert(aspect.name) }
            words.formUnion(aspect.positive)
            words.formUnion(aspect.negative)
        }
        words.formUnion(intensifiers.map(\.word))
        for closing in closings { words.formUnion(closing.text.lowercased().split(separator: " ").map(String.init)) }
        return words
    }
}
