import RLHFAlignment
import RLHFModel
import RLHFTokenizer

/// Builds a ``RewardSource`` from a parsed `--reward` specification.
public enum RewardSources {
    /// - Parameter policy: the model whose responses are scored; a reward model with the same
    ///   tokenizer reads the policy's token ids directly, any other re-encodes the text.
    public static func make(_ specification: RewardSpecification, policy: PretrainedModel?, batchSize: Int = 16) throws -> any RewardSource {
        switch specification {
        case let .rule(name, arguments):
            return try ProgrammaticReward.make(name: name, arguments: arguments)
        case let .command(command):
            return try CommandReward(command: command)
        case let .model(path):
            let loaded = try PretrainedModel.load(path: path, scalarHead: true)
            return try RewardModel(loaded, name: "model:\(path)", batchSize: batchSize,
                                   sharesTokenizerWithPolicy: sameTokenizer(loaded, policy))
        case let .ensemble(path, combinerName, lambda):
            var combiner: EnsembleCombiner?
            if let combinerName {
                let manifest = try RewardEnsemble.manifest(at: path)
                combiner = EnsembleCombiner(
                    name: combinerName, lambda: lambda ?? manifest.uncertaintyWeight,
                    variance: VarianceConvention(rawValue: manifest.variance) ?? .population)
            }
            let ensemble = try RewardEnsemble.load(path: path, combiner: combiner, batchSize: batchSize)
            for member in ensemble.members { member.sharesTokenizerWithPolicy = sameTokenizer(member.pretrained, policy) }
            return ensemble
        }
    }

    /// Parses and builds every `--reward` (summed with `weights` when there are several).
    public static func make(specifications: [String], weights: String?, policy: PretrainedModel?) throws -> any RewardSource {
        let sources = try specifications.map { try make(RewardSpecification(parsing: $0), policy: policy) }
        if sources.count == 1 && weights == nil { return sources[0] }
        let parsed = try weights.map { try WeightedRewardSum.parseWeights($0, count: sources.count) } ?? Array(repeating: 1, count: sources.count)
        return try WeightedRewardSum(sources: sources, weights: parsed)
    }

    /// Whether two models tokenize identically (same byte-level vocabulary, merges and settings).
    static func sameTokenizer(_ a: PretrainedModel, _ b: PretrainedModel?) -> Bool {
        guard let b else { return false }
        switch (a.tokenizer, b.tokenizer) {
        case let (x as BytePairTokenizer, y as BytePairTokenizer):
            return x === y || (x.tokens == y.tokens && x.mergeRules == y.mergeRules && x.preTokenizer == y.preTokenizer
                               && x.normalizesNFC == y.normalizesNFC && x.ignoresMerges == y.ignoresMerges)
        case (is ByteTokenizer, is ByteTokenizer): return true
        default: return false
        }
    }
}
