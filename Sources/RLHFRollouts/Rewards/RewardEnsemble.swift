import Foundation
import RLHFAlignment
import RLHFFormats
import RLHFModel

/// K reward models that differ only in seed (head initialisation and data order), combined per
/// response as the mean, the worst case (WCO) or mean − λ·variance (UWO) — Coste et al. 2023.
///
/// Saved as one directory: `ensemble.json` (the manifest below) and one Hugging Face
/// `LlamaForSequenceClassification` directory per member (`member-0`, `member-1`, …), each of
/// which loads on its own in transformers.
public final class RewardEnsemble: DiagnosingRewardSource, @unchecked Sendable {
    /// `ensemble.json`.
    public struct Manifest: Codable, Sendable, Equatable {
        public var format = "swift-rlhf-reward-ensemble"
        public var version = 1
        /// Member directories, relative to the ensemble directory.
        public var members: [String]
        /// The seed each member was trained with.
        public var seeds: [UInt64]
        /// Default combiner: "mean", "wco" or "uwo".
        public var combiner: String
        /// λ of UWO.
        public var uncertaintyWeight: Double
        /// Variance convention of UWO ("population" ÷k, or "sample" ÷(k−1)).
        public var variance: String
        /// Blocks below this index are frozen and identical in every member.
        public var sharedBlocks: Int

        public init(members: [String], seeds: [UInt64], combiner: String = "mean", uncertaintyWeight: Double = 0.5,
                    variance: String = "population", sharedBlocks: Int) {
            self.members = members
            self.seeds = seeds
            self.combiner = combiner
            self.uncertaintyWeight = uncertaintyWeight
            self.variance = variance
            self.sharedBlocks = sharedBlocks
        }

        enum CodingKeys: String, CodingKey {
            case format, version, members, seeds, combiner, variance
            case uncertaintyWeight = "uwo_lambda", sharedBlocks = "shared_blocks"
        }
    }

    public let members: [RewardModel]
    public let combiner: EnsembleCombiner
    /// Blocks below this index (and the embedding) are identical in every member, so their output
    /// is computed once per batch, by the first member, and every member runs only the blocks
    /// above (0: each member runs whole).
    public let sharedBlocks: Int
    public var name: String { "ensemble(\(members.count), \(combiner.name))" }

    /// - Parameter sharedBlocks: the frozen blocks the members share; checked (parameter for
    ///   parameter), and lowered to what is really shared.
    public init(members: [RewardModel], combiner: EnsembleCombiner, sharedBlocks: Int = 0) {
        precondition(!members.isEmpty, "an ensemble needs members")
        self.members = members
        self.combiner = combiner
        self.sharedBlocks = LlamaModel.identicalLowerBlocks(members.map(\.pretrained.model), atMost: sharedBlocks)
    }

    /// Whether `path` is an ensemble directory (has `ensemble.json`).
    public static func isEnsemble(_ path: String) -> Bool {
        FileManager.default.fileExists(atPath: path + "/ensemble.json")
    }

    /// Reads `ensemble.json`.
    public static func manifest(at path: String) throws -> Manifest {
        let file = path + "/ensemble.json"
        guard let data = FileManager.default.contents(atPath: file) else {
            throw FormatError.cannotOpen(path: file, reason: "no ensemble manifest")
        }
        do { return try JSONDecoder().decode(Manifest.self, from: data) } catch {
            throw FormatError.invalidHeader(file: file, reason: "not a reward-ensemble manifest (\(error))")
        }
    }

    /// Loads every member of the ensemble at `path`; `combiner` nil takes the manifest's.
    public static func load(path: String, combiner: EnsembleCombiner? = nil, batchSize: Int = 16) throws -> RewardEnsemble {
        let manifest = try manifest(at: path)
        let members = try manifest.members.enumerated().map { index, member in
            try RewardModel(PretrainedModel.load(path: path + "/" + member, scalarHead: true),
                            name: "member-\(index)", batchSize: batchSize)
        }
        let variance = VarianceConvention(rawValue: manifest.variance) ?? .population
        let chosen = try combiner ?? EnsembleCombiner(name: manifest.combiner, lambda: manifest.uncertaintyWeight, variance: variance)
            ?? { throw FormatError.invalidHeader(file: path + "/ensemble.json", reason: "unknown combiner '\(manifest.combiner)'") }()
        return RewardEnsemble(members: members, combiner: chosen, sharedBlocks: manifest.sharedBlocks)
    }

    /// Every member's scores (members × inputs).
    public func memberScores(for inputs: [RewardInput]) throws -> [[Double]] {
        guard sharedBlocks > 0 else { return try members.map { try $0.scores(for: inputs) } }
        let (prompts, responses) = try members[0].tokens(for: inputs)
        var scores = [[Double]](repeating: [], count: members.count)
        let batchSize = members[0].batchSize
        for start in stride(from: 0, to: prompts.count, by: batchSize) {
            let range = start..<min(prompts.count, start + batchSize)
            let spans = members[0].spans(prompts: Array(prompts[range]), responses: Array(responses[range]))
            let states = try members[0].pretrained.model.trunkStates(for: spans.batch, enteringBlock: sharedBlocks)
            for (index, member) in members.enumerated() {
                let values = try member.pretrained.model.forward(spans.batch, from: states, tokenLogProbs: false, values: true).values
                scores[index] += spans.last(values).map(Double.init)
            }
        }
        return scores
    }

    public func scores(for inputs: [RewardInput]) throws -> [Double] {
        combiner.combine(members: try memberScores(for: inputs))
    }

    /// The combined scores and the members' disagreement (the overoptimization signal of Coste
    /// et al.): `ensemble/disagreement`, the mean over responses of the members' population std;
    /// `ensemble/member_mean_min` and `…_max`, the lowest and highest member's mean score.
    public func scoresAndDiagnostics(for inputs: [RewardInput]) throws -> (scores: [Double], diagnostics: [Diagnostic]) {
        let members = try memberScores(for: inputs)
        return (combiner.combine(members: members), Self.disagreement(members))
    }

    /// The diagnostics of member scores (members × inputs): `ensemble/disagreement`, the mean
    /// over inputs of the members' population std, and the lowest and highest member's mean
    /// score. Shared by every ensemble-like reward source.
    public static func disagreement(_ members: [[Double]]) -> [Diagnostic] {
        let inputs = members.first?.count ?? 0
        let count = Double(max(1, inputs))
        var disagreement = 0.0
        for i in 0..<inputs {
            disagreement += Statistics.meanAndStandardDeviation(members.map { $0[i] }).standardDeviation
        }
        let means = members.map { $0.reduce(0, +) / count }
        return [
            Diagnostic(name: "ensemble/disagreement", value: disagreement / count),
            Diagnostic(name: "ensemble/member_mean_min", value: means.min() ?? 0),
            Diagnostic(name: "ensemble/member_mean_max", value: means.max() ?? 0),
        ]
    }
}
