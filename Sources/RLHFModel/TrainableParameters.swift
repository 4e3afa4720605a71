/// Which parameters a backward pass computes gradients for.
///
/// Frozen parts cost nothing in backward: their weight-gradient GEMMs are skipped, and the pass
/// stops below the lowest trainable block (the P3O and trlx recipes train only the top blocks).
public struct TrainableParameters: Codable, Sendable, Equatable {
    /// Train the token embedding (and, when tied, the output head it doubles as).
    public var tokenEmbedding: Bool
    /// Blocks with index ≥ this value train; `Int.max` freezes every block.
    public var lowestTrainableBlock: Int
    /// Train the final RMSNorm weight.
    public var finalNorm: Bool
    /// Train an untied output head (ignored when the head is tied to the embedding).
    public var outputHead: Bool
    /// Train the scalar head (reward / value), when the model has one.
    public var scalarHead: Bool

    public init(
        tokenEmbedding: Bool, lowestTrainableBlock: Int, finalNorm: Bool, outputHead: Bool, scalarHead: Bool
    ) {
        self.tokenEmbedding = tokenEmbedding
        self.lowestTrainableBlock = lowestTrainableBlock
        self.finalNorm = finalNorm
        self.outputHead = outputHead
        self.scalarHead = scalarHead
    }

    /// Everything trains.
    public static let all = TrainableParameters(
        tokenEmbedding: true, lowestTrainableBlock: 0, finalNorm: true, outputHead: true, scalarHead: true)

    /// Nothing trains (inference only).
    public static let none = TrainableParameters(
        tokenEmbedding: false, lowestTrainableBlock: .max, finalNorm: false, outputHead: false, scalarHead: false)

    /// The top `count` blocks of a `blockCount`-block model, the final norm, an untied output head
    /// and the scalar head train; the embedding is frozen.
    public static func topBlocks(_ count: Int, of blockCount: Int) -> TrainableParameters {
        TrainableParameters(
            tokenEmbedding: false, lowestTrainableBlock: max(0, blockCount - count), finalNorm: true,
            outputHead: true, scalarHead: true)
    }

    /// Whether the parameter described by `entry` trains.
    public func contains(_ entry: ParameterLayout.Entry) -> Bool {
        switch entry.role {
        case .tokenEmbedding: return tokenEmbedding
        case .finalNorm: return finalNorm
        case .outputHead: return outputHead
        case .scalarHeadWeight: return scalarHead
        default: return (entry.block ?? 0) >= lowestTrainableBlock
        }
    }
}
