import RLHFAlignment

import Foundation

/// A proxy reward model over word counts: r(y) = w₂ · relu(W₁ x(y) + b₁), with x(y) the count of
/// each vocabulary word in the response (plus one slot for words outside the vocabulary and one
/// for sentences), trained by Bradley–Terry on preference pairs (alignment-losses.md §1).
///
/// Why this form for the overoptimization demo: it learns what the labelled pairs show ("positive
/// adjectives and covered aspects are preferred") but cannot see order, grammar or repetition,
/// and being piecewise linear in the counts it keeps rising as a response repeats what it likes.
/// A policy optimising it finds that exploit; the gold reward punishes it (Gao et al.'s
/// regressional and extremal Goodhart in miniature). Tiny transformer proxies saturated instead
/// (the prototype's finding), so the proxy's form is part of the experiment.
public struct BagOfWordsProxy: Sendable, Codable, Equatable {
    /// Training settings.
    public struct Parameters: Sendable, Codable, Equatable {
        /// Hidden ReLU units (the proxy's size).
        public var hidden = 32
        public var epochs = 30
        public var batchSize = 64
        public var learningRate = 3e-3
        public var weightDecay = 1e-4
        /// Train on a bootstrap resample of the pairs (members then differ in data, not only seed).
        public var bootstrap = true
        /// Input weights start N(0, (scale² / inputs)): members that differ only in seed then
        /// disagree on words the pairs rarely show, which is what WCO and UWO penalise.
        public var initialScale = 1.0

        public init() {}
    }

    /// The words with their own count slot, in slot order.
    public let vocabulary: [String]
    public let hidden: Int
    /// W₁ [hidden, inputs] row-major, b₁ [hidden], w₂ [hidden].
    public private(set) var inputWeights: [Double]
    public private(set) var inputBiases: [Double]
    public private(set) var outputWeights: [Double]
    /// Each vocabulary word's slot (derived from ``vocabulary``, kept to avoid rebuilding it per response).
    private let slots: [String: Int]

    /// Slots: one per vocabulary word, then other words, then sentences (periods).
    public var inputCount: Int { vocabulary.count + 2 }

    /// A proxy with random weights from `seed` (input layer N(0, scale²/inputs), biases 0.1,
    /// output N(0, 1/hidden)).
    public init(vocabulary: [String], hidden: Int, initialScale: Double = 1, seed: UInt64) {
        self.vocabulary = vocabulary
        self.hidden = hidden
        slots = Dictionary(uniqueKeysWithValues: vocabulary.enumerated().map { ($1, $0) })
        var generator = SplitMix64(seed: seed)
        let inputs = vocabulary.count + 2
        let scale = initialScale / Double(inputs).squareRoot()
        inputWeights = (0..<(hidden * inputs)).map { _ in Self.gaussian(&generator) * scale }
        inputBiases = (0..<hidden).map { _ in 0.1 }
        let outputScale = (1.0 / Double(hidden)).squareRoot()
        outputWeights = (0..<hidden).map { _ in Self.gaussian(&generator) * outputScale }
    }

    /// Word counts of `text` (lowercased runs of letters; a period also counts as a sentence).
    public func features(_ text: String) -> [Double] {
        var counts = [Double](repeating: 0, count: inputCount)
        for word in Self.words(text) {
            if let slot = slots[word] { counts[slot] += 1 } else { counts[vocabulary.count] += 1 }
        }
        counts[vocabulary.count + 1] = Double(text.filter { $0 == "." }.count)
        return counts
    }

    /// Lowercased runs of letters.
    public static func words(_ text: String) -> [String] {
        text.lowercased().split { !$0.isLetter }.map(String.init)
    }

    /// The reward of one feature vector, and the hidden pre-activations (for the backward).
    func forward(_ x: [Double]) -> (reward: Double, preActivations: [Double]) {
        let inputs = inputCount
        var z = inputBiases
        for (i, value) in x.enumerated() where value != 0 {
            for h in 0..<hidden { z[h] += inputWeights[h * inputs + i] * value }
        }
        var r = 0.0
        for h in 0..<hidden where z[h] > 0 { r += outputWeights[h] * z[h] }
        return (r, z)
    }

    public func reward(_ text: String) -> Double { forward(features(text)).reward }

    /// Adds d r/dθ · scale to the gradient buffers.
    func accumulate(_ x: [Double], _ z: [Double], scale: Double,
                    inputWeights gW: inout [Double], inputBiases gb: inout [Double], outputWeights gw: inout [Double]) {
        let inputs = inputCount
        for h in 0..<hidden where z[h] > 0 {
            gw[h] += scale * z[h]
            let dz = scale * outputWeights[h]
            gb[h] += dz
            for (i, value) in x.enumerated() where value != 0 { gW[h * inputs + i] += dz * value }
        }
    }

    /// What one epoch of training reports.
    public struct Epoch: Sendable, Codable, Equatable {
        public var epoch: Int
        public var loss: Double
    }

    /// Trains a fresh proxy by Bradley–Terry (−log σ(r_chosen − r_rejected), mean over each batch)
    /// with Adam on `pairs`, the order (and the bootstrap resample) drawn from `seed`.
    public static func train(
        pairs: [(chosen: String, rejected: String)], vocabulary: [String], parameters: Parameters, seed: UInt64
    ) -> (proxy: BagOfWordsProxy, epochs: [Epoch]) {
        var proxy = BagOfWordsProxy(vocabulary: vocabulary, hidden: parameters.hidden, initialScale: parameters.initialScale, seed: seed)
        let features = pairs.map { (proxy.features($0.chosen), proxy.features($0.rejected)) }
        var generator = SplitMix64(seed: seed ^ 0xB0B5_EED5)
        var indices = Array(features.indices)
        if parameters.bootstrap { indices = indices.map { _ in generator.nextIndex(below: features.count) } }
        var adam = AdamState(counts: [proxy.inputWeights.count, proxy.inputBiases.count, proxy.outputWeights.count])
        var history = [Epoch]()
        for epoch in 0..<parameters.epochs {
            var order = indices
            for i in stride(from: order.count - 1, to: 0, by: -1) { order.swapAt(i, generator.nextIndex(below: i + 1)) }
            var total = 0.0
            for start in stride(from: 0, to: order.count, by: parameters.batchSize) {
                let batch = order[start..<min(order.count, start + parameters.batchSize)]
                var gW = [Double](repeating: 0, count: proxy.inputWeights.count)
                var gb = [Double](repeating: 0, count: proxy.hidden), gw = [Double](repeating: 0, count: proxy.hidden)
                for index in batch {
                    let (xw, xl) = features[index]
                    let (rw, zw) = proxy.forward(xw), (rl, zl) = proxy.forward(xl)
                    let margin = rw - rl
                    total += StableMath.softplus(-margin)
                    // d/dmargin of −log σ(margin) = −σ(−margin), averaged over the batch.
                    let g = -StableMath.sigmoid(-margin) / Double(batch.count)
                    proxy.accumulate(xw, zw, scale: g, inputWeights: &gW, inputBiases: &gb, outputWeights: &gw)
                    proxy.accumulate(xl, zl, scale: -g, inputWeights: &gW, inputBiases: &gb, outputWeights: &gw)
                }
                adam.step(&proxy.inputWeights, gW, tensor: 0, rate: parameters.learningRate, decay: parameters.weightDecay)
                adam.step(&proxy.inputBiases, gb, tensor: 1, rate: parameters.learningRate, decay: 0)
                adam.step(&proxy.outputWeights, gw, tensor: 2, rate: parameters.learningRate, decay: parameters.weightDecay)
                adam.advance()
            }
            history.append(Epoch(epoch: epoch + 1, loss: total / Double(max(1, order.count))))
        }
        return (proxy, history)
    }

    /// A standard normal draw (Box–Muller; one of the pair, so the stream is simple to follow).
    static func gaussian(_ generator: inout SplitMix64) -> Double {
        let u = max(generator.nextUniform(), 1e-300), v = generator.nextUniform()
        return (-2 * log(u)).squareRoot() * cos(2 * Double.pi * v)
    }
}

/// Adam moments for a few flat tensors (bias-corrected, decoupled weight decay).
struct AdamState {
    var first: [[Double]], second: [[Double]]
    var t = 1
    let beta1 = 0.9, beta2 = 0.999, epsilon = 1e-8

    init(counts: [Int]) {
        first = counts.map { [Double](repeating: 0, count: $0) }
        second = first
    }

    mutating func step(_ values: inout [Double], _ gradient: [Double], tensor: Int, rate: Double, decay: Double) {
        let c1 = 1 - pow(beta1, Double(t)), c2 = 1 - pow(beta2, Double(t))
        for i in values.indices {
            first[tensor][i] = beta1 * first[tensor][i] + (1 - beta1) * gradient[i]
            second[tensor][i] = beta2 * second[tensor][i] + (1 - beta2) * gradient[i] * gradient[i]
            let update = (first[tensor][i] / c1) / ((second[tensor][i] / c2).squareRoot() + epsilon)
            values[i] -= rate * (update + decay * values[i])
        }
    }

    mutating func advance() { t += 1 }
}

extension BagOfWordsProxy {
    /// Moves one parameter (finite-difference checks).
    mutating func perturb(inputWeight index: Int, by delta: Double) { inputWeights[index] += delta }
    mutating func perturb(inputBias index: Int, by delta: Double) { inputBiases[index] += delta }
    mutating func perturb(outputWeight index: Int, by delta: Double) { outputWeights[index] += delta }
}
