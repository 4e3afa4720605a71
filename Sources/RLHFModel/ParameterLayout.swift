/// Where every parameter lives inside the one flat parameter buffer.
///
/// Parameters, gradients and the optimizer's two moments share this layout, so AdamW, clipping,
/// zeroing and checkpointing are single loops over flat memory (llm.c's `ParameterTensors`).
/// Entries carry Hugging Face names (`model.layers.3.self_attn.q_proj.weight`), which are also the
/// names used in safetensors files.
///
/// Within a block, Q, K and V are stored back to back (one [NH·HS + 2·KVH·HS, C] matrix, one GEMM),
/// and so are gate and up (one [2F, C] matrix).
public struct ParameterLayout: Sendable {
    /// What a parameter is, for selecting trainable subsets.
    public enum Role: Sendable, Equatable, Hashable {
        case tokenEmbedding
        case attentionNorm, query, key, value, attentionOutput, mlpNorm, gate, up, down
        case finalNorm
        case outputHead
        case scalarHeadWeight
    }

    /// One named tensor.
    public struct Entry: Sendable {
        /// Hugging Face name.
        public let name: String
        /// Row-major shape, e.g. [out, in] for a linear weight.
        public let shape: [Int]
        /// First element in the flat buffer.
        public let offset: Int
        /// Number of elements (product of `shape`).
        public let count: Int
        /// Kind of parameter.
        public let role: Role
        /// Block index for block parameters, nil otherwise.
        public let block: Int?
    }

    /// Offsets of one decoder block's tensors.
    public struct BlockOffsets: Sendable {
        /// [C] RMSNorm weight before attention.
        public let attentionNorm: Int
        /// [NH·HS + 2·KVH·HS, C]: query rows, then key rows, then value rows.
        public let queryKeyValue: Int
        /// [C, NH·HS] attention output projection.
        public let attentionOutput: Int
        /// [C] RMSNorm weight before the MLP.
        public let mlpNorm: Int
        /// [2F, C]: gate rows, then up rows.
        public let gateUp: Int
        /// [C, F] MLP down projection.
        public let down: Int
    }

    public let entries: [Entry]
    public let blocks: [BlockOffsets]
    /// [V, C] token embedding.
    public let tokenEmbedding: Int
    /// [C] final RMSNorm weight.
    public let finalNorm: Int
    /// [V, C] output projection: equals `tokenEmbedding` when tied.
    public let outputHead: Int
    /// [1, C] scalar-head weight (`score.weight`, no bias: Hugging Face's
    /// `LlamaForSequenceClassification` head), when the model has one.
    public let scalarHead: Int?
    /// Total number of floats.
    public let totalCount: Int
    private let indexByName: [String: Int]

    /// Lays out the parameters of `configuration`, with a scalar head (`score.weight`) appended
    /// when `scalarHead` is true.
    public init(configuration c: LlamaConfiguration, scalarHead: Bool = false) {
        var entries = [Entry]()
        var offset = 0
        func add(_ name: String, _ shape: [Int], _ role: Role, block: Int? = nil) -> Int {
            let count = shape.reduce(1, *)
            entries.append(Entry(name: name, shape: shape, offset: offset, count: count, role: role, block: block))
            defer { offset += count }
            return offset
        }
        let C = c.hiddenSize, F = c.intermediateSize
        tokenEmbedding = add("model.embed_tokens.weight", [c.vocabularySize, C], .tokenEmbedding)
        var blocks = [BlockOffsets]()
        for l in 0..<c.blockCount {
            let p = "model.layers.\(l)."
            let attentionNorm = add(p + "input_layernorm.weight", [C], .attentionNorm, block: l)
            let q = add(p + "self_attn.q_proj.weight", [c.queryWidth, C], .query, block: l)
            _ = add(p + "self_attn.k_proj.weight", [c.keyValueWidth, C], .key, block: l)
            _ = add(p + "self_attn.v_proj.weight", [c.keyValueWidth, C], .value, block: l)
            let o = add(p + "self_attn.o_proj.weight", [C, c.queryWidth], .attentionOutput, block: l)
            let mlpNorm = add(p + "post_attention_layernorm.weight", [C], .mlpNorm, block: l)
            let gate = add(p + "mlp.gate_proj.weight", [F, C], .gate, block: l)
            _ = add(p + "mlp.up_proj.weight", [F, C], .up, block: l)
            let down = add(p + "mlp.down_proj.weight", [C, F], .down, block: l)
            blocks.append(BlockOffsets(
                attentionNorm: attentionNorm, queryKeyValue: q, attentionOutput: o,
                mlpNorm: mlpNorm, gateUp: gate, down: down))
        }
        self.blocks = blocks
        finalNorm = add("model.norm.weight", [C], .finalNorm)
        outputHead = c.tiedEmbeddings ? tokenEmbedding : add("lm_head.weight", [c.vocabularySize, C], .outputHead)
        if scalarHead {
            self.scalarHead = add("score.weight", [1, C], .scalarHeadWeight)
        } else {
            self.scalarHead = nil
        }
        totalCount = offset
        self.entries = entries
        var index = [String: Int]()
        for (i, entry) in entries.enumerated() { index[entry.name] = i }
        indexByName = index
    }

    /// The entry with this Hugging Face name.
    public func entry(named name: String) -> Entry? {
        indexByName[name].map { entries[$0] }
    }
}
