import RLHFAlignment
import RLHFEvaluation
import RLHFModel
import RLHFRollouts
import RLHFTokenizer
import RLHFTraining
import RLHFData

/// Stage 1 of an experiment, run once from the configuration's seed:
///
///     synthetic reviews → SFT policy → pairs of its samples → gold labels, a share flipped
///     → proxy members (Bradley–Terry) → each member's normalisation and the gold's recentring
///       on fresh SFT samples
///
/// The SFT policy is then both every RL run's starting point and its KL reference.
public struct ExperimentSetup {
    /// What a stage reports while it runs.
    public enum Event {
        case stage(String)
        /// Progress within a stage: done of total.
        case progress(String, done: Int, total: Int)
        case line(String)
    }

    public let configuration: ExperimentConfiguration
    public let language: ReviewLanguage
    /// The SFT policy (never trained further: runs copy it).
    public let policy: PretrainedModel
    public let members: [BagOfWordsProxy]
    public let normalizations: [ProxyReward.Normalization]
    /// The gold reward, recentred so the SFT policy's mean is 0.
    public let gold: any RewardSource
    /// RL prompts: every product several times, with distinct ids (ids seed the samples).
    public let prompts: [RolloutGenerator.Prompt]
    /// The SFT samples that fixed the normalisations and the gold's recentring.
    public let referenceInputs: [RewardInput]
    public let summary: SetupSummary

    /// Prompt text for a product: the language's prompt and a newline, after which the review follows.
    public static func promptText(_ language: ReviewLanguage, product: String) -> String { language.prompt(product) + "\n" }

    /// The prompt for `product` with id `id` (ids seed the samples): BOS when the tokenizer has one, then the text.
    static func prompt(id: Int, product: String, language: ReviewLanguage, tokenizer: any Tokenizer) -> RolloutGenerator.Prompt {
        let text = promptText(language, product: product)
        return RolloutGenerator.Prompt(id: id, tokens: (tokenizer.beginningOfSequenceTokenId.map { [$0] } ?? []) + tokenizer.encode(text), text: text)
    }

    /// A sampler of the SFT policy at the RL runs' temperature and length, from the stage-1 seed.
    static func sampler(_ configuration: ExperimentConfiguration, samplesPerPrompt: Int) -> RolloutGenerator {
        RolloutGenerator(samplesPerPrompt: samplesPerPrompt, sampling: SamplingParameters(
            temperature: configuration.reinforcement.temperature, maximumNewTokens: configuration.reinforcement.maximumNewTokens,
            seed: configuration.seed), batchRows: 64)
    }

    /// The proxy of a run's `proxy` name (`single`, `mean`, `wco`, `uwo`).
    public func proxy(named name: String) -> ProxyReward {
        let combiner: EnsembleCombiner? = name == "single" ? nil : EnsembleCombiner(name: name, lambda: configuration.proxy.uncertaintyWeight)
        return ProxyReward(members: members, normalizations: normalizations, combiner: combiner)
    }

    /// Runs stage 1. `goldSource` replaces the synthetic gold when the configuration names another.
    public init(configuration: ExperimentConfiguration, goldSource: (any RewardSource)? = nil,
                loadModel: (String) throws -> PretrainedModel, report: (Event) -> Void) throws {
        self.configuration = configuration
        let language = ReviewLanguage()
        self.language = language
        let seed = configuration.seed
        let settings = configuration.policy

        // The policy: a new byte-level Llama, or a pretrained model with its top blocks trainable.
        report(.stage("policy"))
        let policy: PretrainedModel
        if let path = settings.model {
            let loaded = try loadModel(path)
            let blocks = loaded.model.configuration.blockCount
            loaded.model.trainable = settings.trainableBlocks == 0 ? .all : .topBlocks(settings.trainableBlocks, of: blocks)
            loaded.model.trainable.tokenEmbedding = settings.trainableBlocks == 0
            policy = loaded
        } else {
            let tokenizer = ByteTokenizer()
            let shape = LlamaConfiguration(
                vocabularySize: tokenizer.vocabularySize, hiddenSize: settings.hiddenSize, intermediateSize: settings.intermediateSize,
                blockCount: settings.blocks, attentionHeadCount: settings.heads, keyValueHeadCount: settings.keyValueHeads,
                ropeTheta: 10_000, maximumSequenceLength: 512, beginningOfSequenceTokenId: tokenizer.beginningOfSequenceTokenId,
                endOfSequenceTokenId: tokenizer.endOfSequenceTokenId, paddingTokenId: tokenizer.paddingTokenId)
            policy = PretrainedModel(model: LlamaModel(configuration: shape, seed: seed), tokenizer: tokenizer, chatTemplate: nil)
        }
        guard let tokenizer = policy.tokenizer, let endOfSequence = tokenizer.endOfSequenceTokenId else {
            throw ExperimentError.invalid("the policy has no tokenizer with an end-of-sequence token")
        }
        self.policy = policy

        // SFT on synthetic reviews, the loss on the review and its end-of-sequence token.
        report(.stage("sft"))
        let corpus = language.samples(count: settings.sftExamples, seed: seed)
        let examples = corpus.enumerated().map { index, sample in
            let prompt = (tokenizer.beginningOfSequenceTokenId.map { [$0] } ?? []) + tokenizer.encode(sample.prompt + "\n"), response = tokenizer.encode(sample.response) + [endOfSequence]
            return TokenizedSFTExample(tokens: prompt + response, lossMask: [Bool](repeating: false, count: prompt.count) + [Bool](repeating: true, count: response.count), line: index + 1)
        }
        let heldOutCount = max(1, examples.count / 20)
        let heldOut = Array(examples.suffix(heldOutCount)), training = Array(examples.dropLast(heldOutCount))
        var sft = SFTTrainer.ExampleParameters()
        sft.training = EpochTraining(epochs: settings.sftEpochs, batchSize: settings.sftBatchSize, learningRate: settings.sftLearningRate,
                                     warmupRatio: 0.05, seed: seed)
        let padding = tokenizer.paddingTokenId ?? endOfSequence
        let optimizer = AdamW(model: policy.model, configuration: sft.training.optimizer)
        var state = SFTTrainer.initialState(for: policy.model, parameters: sft, examples: training.count)
        var losses = [Double]()
        let sftSteps = sft.training.totalSteps(examples: training.count)
        try SFTTrainer.train(model: policy.model, optimizer: optimizer, state: &state, examples: training, heldOut: heldOut,
                             parameters: sft, paddingToken: padding) { event in
            switch event {
            case let .step(metrics): report(.progress("sft", done: metrics.step, total: sftSteps))
            case let .evaluation(_, loss): losses.append(loss)
            case .checkpoint: break
            }
            return .more
        }
        if losses.count < 2 { losses.append(try SFTTrainer.evaluate(model: policy.model, examples: heldOut, batchSize: 32, paddingToken: padding)) }

        // Pairs of SFT samples, labelled by gold with a share of labels flipped.
        report(.stage("preferences"))
        let gold: any RewardSource = goldSource ?? GoldReward(language: language)
        var generator = SplitMix64(seed: seed ^ 0x5EED_0001)
        func prompts(_ count: Int, idBase: Int) -> [RolloutGenerator.Prompt] {
            (0..<count).map { i in
                Self.prompt(id: idBase + i, product: language.products[generator.nextIndex(below: language.products.count)],
                            language: language, tokenizer: tokenizer)
            }
        }
        func sample(_ prompts: [RolloutGenerator.Prompt], samples: Int, phase: Int, label: String) throws -> [RolloutGenerator.Completion] {
            let sampler = Self.sampler(configuration, samplesPerPrompt: samples)
            var result = [RolloutGenerator.Completion]()
            for start in stride(from: 0, to: prompts.count, by: 32) {
                result += try sampler.generate(policy: policy, prompts: Array(prompts[start..<min(prompts.count, start + 32)]), phase: phase)
                report(.progress(label, done: min(prompts.count, start + 32), total: prompts.count))
            }
            return result
        }
        let pairPrompts = prompts(configuration.preferences.comparisons, idBase: 0)
        let pairSamples = try sample(pairPrompts, samples: 2, phase: 1, label: "pairs")
        let pairGold = try gold.checkedScores(for: pairSamples.map(\.rewardInput))
        var pairs = [(chosen: String, rejected: String, goldMargin: Double)]()
        var tied = 0
        for i in stride(from: 0, to: pairSamples.count, by: 2) {
            let a = pairSamples[i], b = pairSamples[i + 1], ga = pairGold[i], gb = pairGold[i + 1]
            if ga == gb { tied += 1; continue }
            pairs.append(ga > gb ? (a.text, b.text, ga - gb) : (b.text, a.text, gb - ga))
        }
        guard pairs.count >= 10 else { throw ExperimentError.invalid("only \(pairs.count) of \(pairSamples.count / 2) pairs differ in gold: nothing to learn") }
        let flipped = Set(LabelNoise.flippedIndices(count: pairs.count, rate: configuration.preferences.labelNoise, seed: seed ^ 0xF11B))
        let labelled = pairs.enumerated().map { i, pair in flipped.contains(i) ? (pair.rejected, pair.chosen) : (pair.chosen, pair.rejected) }
        let heldOutPairs = max(1, Int((Double(labelled.count) * configuration.preferences.heldOutFraction).rounded()))
        let trainPairs = Array(labelled.dropLast(heldOutPairs)), testPairs = Array(labelled.suffix(heldOutPairs))
        let testGold = Array(pairs.suffix(heldOutPairs))

        // Proxy members: same data, different seeds (Coste et al.), vocabulary from the training responses.
        report(.stage("proxies"))
        var counts = [String: Int]()
        for pair in trainPairs { for word in BagOfWordsProxy.words(pair.0) + BagOfWordsProxy.words(pair.1) { counts[word, default: 0] += 1 } }
        let vocabulary = counts.filter { $0.value >= 3 }.keys.sorted()
        var members = [BagOfWordsProxy](), accuracy = [Double](), goldAccuracy = [Double]()
        for m in 0..<configuration.proxy.members {
            let (member, _) = BagOfWordsProxy.train(pairs: trainPairs.map { (chosen: $0.0, rejected: $0.1) }, vocabulary: vocabulary,
                                                    parameters: configuration.proxy.training, seed: seed &+ 1000 &+ UInt64(m))
            members.append(member)
            accuracy.append(Double(testPairs.filter { member.reward($0.0) > member.reward($0.1) }.count) / Double(testPairs.count))
            goldAccuracy.append(Double(testGold.filter { member.reward($0.chosen) > member.reward($0.rejected) }.count) / Double(testGold.count))
            report(.progress("proxies", done: m + 1, total: configuration.proxy.members))
        }
        self.members = members

        // Normalisation of each member and recentring of gold on fresh SFT samples.
        report(.stage("normalisation"))
        let reference = try sample(prompts(configuration.proxy.normalizationSamples, idBase: 1_000_000), samples: 1, phase: 2, label: "reference samples")
        let inputs = reference.map(\.rewardInput)
        referenceInputs = inputs
        let normalizations = members.map { member in ProxyReward.Normalization(scores: inputs.map { member.reward($0.response) }) }
        self.normalizations = normalizations
        let (referenceGold, referenceTerms) = try gold.checkedScoresAndDiagnostics(for: inputs)
        let goldMoments = Statistics.meanAndStandardDeviation(referenceGold)
        self.gold = RecentredReward(base: gold, offset: goldMoments.mean)

        // RL prompts: each product as often as a step needs, ids distinct.
        let copies = max(2, (configuration.reinforcement.responsesPerStep + language.products.count - 1) / language.products.count)
        self.prompts = (0..<(copies * language.products.count)).map { i in
            Self.prompt(id: i, product: language.products[i % language.products.count], language: language, tokenizer: tokenizer)
        }
        summary = SetupSummary(
            policyParameters: policy.model.parameterCount, sftExamples: training.count, sftSteps: sftSteps,
            sftLossBefore: losses.first ?? .nan, sftLossAfter: losses.last ?? .nan,
            sftSamples: (0..<min(4, reference.count)).map { i in
                TextSample(step: 0, prompt: reference[i].prompt.text, response: reference[i].text, proxy: normalizations[0].apply(members[0].reward(reference[i].text)),
                           gold: referenceGold[i] - goldMoments.mean)
            },
            comparisons: pairs.count + tied, tiedPairs: tied, flippedLabels: flipped.count, heldOutPairs: heldOutPairs,
            memberAccuracy: accuracy, memberGoldAccuracy: goldAccuracy, normalizations: normalizations,
            goldOffset: goldMoments.mean, goldStandardDeviation: goldMoments.standardDeviation,
            goldTerms: referenceTerms.map { NamedValue(name: $0.name, value: $0.value) })
    }
}

/// Why an experiment cannot run.
public enum ExperimentError: Error, CustomStringConvertible, Equatable {
    case invalid(String)

    public var description: String {
        switch self {
        case let .invalid(reason): reason
        }
    }
}
