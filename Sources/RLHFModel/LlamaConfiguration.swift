#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The shape of a Llama-family decoder.
///
/// Decodes from and encodes to a Hugging Face `config.json` (`LlamaConfig`): the Swift names are
/// spelled out, the JSON keys live only in ``CodingKeys``.
///
///     let config = try LlamaConfiguration.load(fromJSONFile: "model/config.json")
///     try config.validate()
public struct LlamaConfiguration: Codable, Sendable, Equatable {
    /// V: number of token ids.
    public var vocabularySize: Int
    /// C: width of the residual stream.
    public var hiddenSize: Int
    /// F: inner width of the SwiGLU MLP.
    public var intermediateSize: Int
    /// L: number of decoder blocks.
    public var blockCount: Int
    /// NH: query heads.
    public var attentionHeadCount: Int
    /// KVH: key/value heads (grouped-query attention when fewer than query heads).
    public var keyValueHeadCount: Int
    /// HS: size of one head (defaults to C / NH).
    public var headDimension: Int
    /// RoPE base θ.
    public var ropeTheta: Double
    /// Number of leading dimensions of each head that are rotated (defaults to HS; even).
    public var rotaryDimensionCount: Int
    /// RMSNorm ε.
    public var rmsNormEpsilon: Float
    /// Whether the output projection is the transposed token embedding.
    public var tiedEmbeddings: Bool
    /// Longest supported sequence (positions beyond it are rejected).
    public var maximumSequenceLength: Int
    /// Beginning-of-sequence token id, when the model has one.
    public var beginningOfSequenceTokenId: Int?
    /// End-of-sequence token id, when the model has one.
    public var endOfSequenceTokenId: Int?
    /// Padding token id (HF `pad_token_id`). As with PyTorch's `nn.Embedding(padding_idx:)` in
    /// Hugging Face's Llama, this embedding row receives no gradient from the input lookup (it still
    /// does through a tied output head).
    public var paddingTokenId: Int?

    /// Creates a configuration; `headDimension` and `rotaryDimensionCount` default from the others.
    public init(
        vocabularySize: Int, hiddenSize: Int, intermediateSize: Int, blockCount: Int,
        attentionHeadCount: Int, keyValueHeadCount: Int, headDimension: Int? = nil,
        ropeTheta: Double = 10_000, rotaryDimensionCount: Int? = nil, rmsNormEpsilon: Float = 1e-5,
        tiedEmbeddings: Bool = true, maximumSequenceLength: Int = 2048,
        beginningOfSequenceTokenId: Int? = nil, endOfSequenceTokenId: Int? = nil, paddingTokenId: Int? = nil
    ) {
        self.vocabularySize = vocabularySize
        self.hiddenSize = hiddenSize
        self.intermediateSize = intermediateSize
        self.blockCount = blockCount
        self.attentionHeadCount = attentionHeadCount
        self.keyValueHeadCount = keyValueHeadCount
        let head = headDimension ?? (attentionHeadCount > 0 ? hiddenSize / attentionHeadCount : 0)
        self.headDimension = head
        self.ropeTheta = ropeTheta
        self.rotaryDimensionCount = rotaryDimensionCount ?? head
        self.rmsNormEpsilon = rmsNormEpsilon
        self.tiedEmbeddings = tiedEmbeddings
        self.maximumSequenceLength = maximumSequenceLength
        self.beginningOfSequenceTokenId = beginningOfSequenceTokenId
        self.endOfSequenceTokenId = endOfSequenceTokenId
        self.paddingTokenId = paddingTokenId
    }

    /// SmolLM2-135M: V 49152, C 576, F 1536, 30 blocks, 9 query / 3 KV heads, θ 100000, tied.
    public static let smolLM2_135M = LlamaConfiguration(
        vocabularySize: 49152, hiddenSize: 576, intermediateSize: 1536, blockCount: 30,
        attentionHeadCount: 9, keyValueHeadCount: 3, ropeTheta: 100_000, rmsNormEpsilon: 1e-5,
        tiedEmbeddings: true, maximumSequenceLength: 8192,
        beginningOfSequenceTokenId: 1, endOfSequenceTokenId: 2, paddingTokenId: 2)

    /// SmolLM2-360M's shapes (hidden 960, FFN 2560, 32 blocks, 15 query / 5 KV heads, tied
    /// embeddings): the next size up, for scaling measurements.
    public static let smolLM2_360M = LlamaConfiguration(
        vocabularySize: 49152, hiddenSize: 960, intermediateSize: 2560, blockCount: 32,
        attentionHeadCount: 15, keyValueHeadCount: 5, ropeTheta: 100_000, rmsNormEpsilon: 1e-5,
        tiedEmbeddings: true, maximumSequenceLength: 8192,
        beginningOfSequenceTokenId: 1, endOfSequenceTokenId: 2, paddingTokenId: 2)

    /// Width of the query projection output, NH·HS.
    public var queryWidth: Int { attentionHeadCount * headDimension }
    /// Width of the key (and of the value) projection output, KVH·HS.
    public var keyValueWidth: Int { keyValueHeadCount * headDimension }

    /// Errors found by ``validate()``.
    public struct InvalidConfiguration: Error, CustomStringConvertible, Equatable {
        /// What is wrong, naming the field.
        public let reason: String
        public var description: String { "invalid Llama configuration: \(reason)" }
    }

    /// Checks that the sizes describe a buildable model.
    public func validate() throws {
        func require(_ condition: Bool, _ reason: String) throws {
            if !condition { throw InvalidConfiguration(reason: reason) }
        }
        try require(vocabularySize > 0, "vocab_size must be positive (got \(vocabularySize))")
        try require(hiddenSize > 0, "hidden_size must be positive (got \(hiddenSize))")
        try require(intermediateSize > 0, "intermediate_size must be positive (got \(intermediateSize))")
        try require(blockCount > 0, "num_hidden_layers must be positive (got \(blockCount))")
        try require(attentionHeadCount > 0, "num_attention_heads must be positive")
        try require(keyValueHeadCount > 0, "num_key_value_heads must be positive")
        try require(
            attentionHeadCount % keyValueHeadCount == 0,
            "num_attention_heads (\(attentionHeadCount)) must be a multiple of num_key_value_heads (\(keyValueHeadCount))")
        try require(headDimension > 0 && headDimension % 2 == 0, "head_dim must be positive and even (got \(headDimension))")
        try require(
            rotaryDimensionCount > 0 && rotaryDimensionCount % 2 == 0 && rotaryDimensionCount <= headDimension,
            "rotary dimension count must be even and at most head_dim (got \(rotaryDimensionCount))")
        try require(ropeTheta > 0, "rope_theta must be positive")
        try require(rmsNormEpsilon > 0, "rms_norm_eps must be positive")
        try require(maximumSequenceLength > 0, "max_position_embeddings must be positive")
        let limit = 1 << 40
        try require(vocabularySize < limit / hiddenSize, "vocab_size × hidden_size is too large")
    }

    // MARK: - Hugging Face config.json

    enum CodingKeys: String, CodingKey {
        case vocabularySize = "vocab_size"
        case hiddenSize = "hidden_size"
        case intermediateSize = "intermediate_size"
        case blockCount = "num_hidden_layers"
        case attentionHeadCount = "num_attention_heads"
        case keyValueHeadCount = "num_key_value_heads"
        case headDimension = "head_dim"
        case ropeTheta = "rope_theta"
        case ropeParameters = "rope_parameters"
        case partialRotaryFactor = "partial_rotary_factor"
        case rmsNormEpsilon = "rms_norm_eps"
        case tiedEmbeddings = "tie_word_embeddings"
        case maximumSequenceLength = "max_position_embeddings"
        case beginningOfSequenceTokenId = "bos_token_id"
        case endOfSequenceTokenId = "eos_token_id"
        case paddingTokenId = "pad_token_id"
        case modelType = "model_type"
        case architectures
    }

    private struct RopeParameters: Codable {
        var ropeTheta: Double?
        var ropeType: String?
        enum CodingKeys: String, CodingKey {
            case ropeTheta = "rope_theta"
            case ropeType = "rope_type"
        }
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let heads = try container.decode(Int.self, forKey: .attentionHeadCount)
        let hidden = try container.decode(Int.self, forKey: .hiddenSize)
        let head = try container.decodeIfPresent(Int.self, forKey: .headDimension) ?? (heads > 0 ? hidden / heads : 0)
        var theta = try container.decodeIfPresent(Double.self, forKey: .ropeTheta)
        if theta == nil, let rope = try container.decodeIfPresent(RopeParameters.self, forKey: .ropeParameters) {
            if let kind = rope.ropeType, kind != "default" {
                throw DecodingError.dataCorruptedError(
                    forKey: .ropeParameters, in: container,
                    debugDescription: "rope_type '\(kind)' is not supported (only 'default')")
            }
            theta = rope.ropeTheta
        }
        let partial = try container.decodeIfPresent(Double.self, forKey: .partialRotaryFactor) ?? 1
        // eos_token_id may be an int or a list of ints in Hugging Face configs.
        var eos: Int?
        if let single = try? container.decodeIfPresent(Int.self, forKey: .endOfSequenceTokenId) {
            eos = single
        } else if let list = try? container.decodeIfPresent([Int].self, forKey: .endOfSequenceTokenId) {
            eos = list.first
        }
        self.init(
            vocabularySize: try container.decode(Int.self, forKey: .vocabularySize),
            hiddenSize: hidden,
            intermediateSize: try container.decode(Int.self, forKey: .intermediateSize),
            blockCount: try container.decode(Int.self, forKey: .blockCount),
            attentionHeadCount: heads,
            keyValueHeadCount: try container.decodeIfPresent(Int.self, forKey: .keyValueHeadCount) ?? heads,
            headDimension: head,
            ropeTheta: theta ?? 10_000,
            rotaryDimensionCount: Int((Double(head) * partial).rounded()),
            rmsNormEpsilon: try container.decodeIfPresent(Float.self, forKey: .rmsNormEpsilon) ?? 1e-6,
            tiedEmbeddings: try container.decodeIfPresent(Bool.self, forKey: .tiedEmbeddings) ?? true,
            maximumSequenceLength: try container.decodeIfPresent(Int.self, forKey: .maximumSequenceLength) ?? 2048,
            beginningOfSequenceTokenId: try? container.decodeIfPresent(Int.self, forKey: .beginningOfSequenceTokenId),
            endOfSequenceTokenId: eos,
            paddingTokenId: try? container.decodeIfPresent(Int.self, forKey: .paddingTokenId))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(["LlamaForCausalLM"], forKey: .architectures)
        try container.encode("llama", forKey: .modelType)
        try container.encode(vocabularySize, forKey: .vocabularySize)
        try container.encode(hiddenSize, forKey: .hiddenSize)
        try container.encode(intermediateSize, forKey: .intermediateSize)
        try container.encode(blockCount, forKey: .blockCount)
        try container.encode(attentionHeadCount, forKey: .attentionHeadCount)
        try container.encode(keyValueHeadCount, forKey: .keyValueHeadCount)
        try container.encode(headDimension, forKey: .headDimension)
        try container.encode(ropeTheta, forKey: .ropeTheta)
        if rotaryDimensionCount != headDimension {
            try container.encode(Double(rotaryDimensionCount) / Double(headDimension), forKey: .partialRotaryFactor)
        }
        try container.encode(rmsNormEpsilon, forKey: .rmsNormEpsilon)
        try container.encode(tiedEmbeddings, forKey: .tiedEmbeddings)
        try container.encode(maximumSequenceLength, forKey: .maximumSequenceLength)
        try container.encodeIfPresent(beginningOfSequenceTokenId, forKey: .beginningOfSequenceTokenId)
        try container.encodeIfPresent(endOfSequenceTokenId, forKey: .endOfSequenceTokenId)
        try container.encodeIfPresent(paddingTokenId, forKey: .paddingTokenId)
    }

    /// Reads a Hugging Face `config.json`.
    public static func load(fromJSONFile path: String) throws -> LlamaConfiguration {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        return try JSONDecoder().decode(LlamaConfiguration.self, from: data)
    }

    /// The configuration as pretty-printed Hugging Face `config.json` bytes.
    public func jsonData() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(self)
    }
}
