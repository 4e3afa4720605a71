import RLHFFormats
import RLHFTensor

/// Loading Llama models from GGUF files (llama.cpp, Ollama, LM Studio).
///
/// The configuration comes from the `llama.*` metadata; tensors are dequantized to float32 and
/// mapped to Hugging Face names (``TensorNames``). llama.cpp stores the rows of `attn_q` and
/// `attn_k` permuted for RoPE on adjacent pairs (2i, 2i+1) while this engine, like Hugging Face,
/// rotates dimension i with i + HS/2; the permutation is undone here and only here, so a model
/// loaded from GGUF and from safetensors computes the same thing.
extension LlamaConfiguration {
    /// Reads the model shape from GGUF metadata (`general.architecture` must be `llama`).
    public init(gguf file: GGUFFile) throws {
        let architecture = file["general.architecture"]?.string ?? "(missing)"
        guard architecture == "llama" else {
            throw FormatError.invalidHeader(file: file.path, reason: "general.architecture is '\(architecture)'; only 'llama' models are supported")
        }
        func integer(_ key: String) throws -> Int {
            guard let value = file["llama." + key]?.integer else {
                throw FormatError.invalidHeader(file: file.path, reason: "metadata key 'llama.\(key)' is missing or not an integer")
            }
            return value
        }
        let hidden = try integer("embedding_length")
        let heads = try integer("attention.head_count")
        let headDimension = file["llama.attention.key_length"]?.integer ?? (heads > 0 ? hidden / heads : 0)
        let vocabulary = file["llama.vocab_size"]?.integer
            ?? file["tokenizer.ggml.tokens"]?.array?.count
            ?? file.tensor("token_embd.weight")?.shape.first ?? 0
        self.init(
            vocabularySize: vocabulary, hiddenSize: hidden, intermediateSize: try integer("feed_forward_length"),
            blockCount: try integer("block_count"), attentionHeadCount: heads,
            keyValueHeadCount: file["llama.attention.head_count_kv"]?.integer ?? heads, headDimension: headDimension,
            ropeTheta: file["llama.rope.freq_base"]?.double ?? 10_000,
            rotaryDimensionCount: file["llama.rope.dimension_count"]?.integer ?? headDimension,
            rmsNormEpsilon: Float(file["llama.attention.layer_norm_rms_epsilon"]?.double ?? 1e-5),
            tiedEmbeddings: file.tensor("output.weight") == nil,
            maximumSequenceLength: file["llama.context_length"]?.integer ?? 2048,
            beginningOfSequenceTokenId: file["tokenizer.ggml.bos_token_id"]?.integer,
            endOfSequenceTokenId: file["tokenizer.ggml.eos_token_id"]?.integer,
            paddingTokenId: file["tokenizer.ggml.padding_token_id"]?.integer)
        try validate()
        guard rotaryDimensionCount == self.headDimension else {
            throw FormatError.invalidHeader(
                file: file.path, reason: "partial rotary embeddings (\(rotaryDimensionCount) of \(self.headDimension)) are not supported in GGUF")
        }
    }
}

extension LlamaModel {
    /// A model with the configuration and (dequantized) weights of a GGUF file.
    public convenience init(
        gguf file: GGUFFile, scalarHead: Bool = false, multiplier: any MatrixMultiplier = MatrixMultiply.best
    ) throws {
        let configuration = try LlamaConfiguration(gguf: file)
        self.init(configuration: configuration, scalarHead: scalarHead, multiplier: multiplier)
        // Only a scalar head can be missing from the file; everything else is read below.
        initialize(seed: 0) { $0.role == .scalarHeadWeight }
        let c = configuration
        for entry in layout.entries {
            if entry.role == .scalarHeadWeight { continue }
            guard let name = TensorNames.gguf(fromHuggingFace: entry.name) else { continue }
            guard let info = file.tensor(name) else { throw FormatError.missingTensor(name: name) }
            let expected = entry.role == .attentionNorm || entry.role == .mlpNorm || entry.role == .finalNorm
                ? [entry.count] : entry.shape
            guard info.shape == expected else { throw FormatError.shapeMismatch(name: name, expected: expected, actual: info.shape) }
            let destination = UnsafeMutableBufferPointer(start: parameters.pointer + entry.offset, count: entry.count)
            switch entry.role {
            case .query, .key:
                let heads = entry.role == .query ? c.attentionHeadCount : c.keyValueHeadCount
                let stored = try file.floats(name)
                Self.undoRotaryPermutation(stored, heads: heads, headDimension: c.headDimension, columns: c.hiddenSize,
                                           into: destination.baseAddress!)
            default:
                try file.readFloats(name, into: destination)
            }
        }
    }

    /// llama.cpp row order → Hugging Face row order for Q/K weights [heads·HS, columns]:
    /// within each head, stored row 2b is HF row b and stored row 2b + 1 is HF row HS/2 + b.
    static func undoRotaryPermutation(
        _ stored: [Float], heads: Int, headDimension HS: Int, columns: Int, into output: UnsafeMutablePointer<Float>
    ) {
        let half = HS / 2
        stored.withUnsafeBufferPointer { source in
            for h in 0..<heads {
                for b in 0..<half {
                    (output + (h * HS + b) * columns).update(from: source.baseAddress! + (h * HS + 2 * b) * columns, count: columns)
                    (output + (h * HS + half + b) * columns).update(
                        from: source.baseAddress! + (h * HS + 2 * b + 1) * columns, count: columns)
                }
            }
        }
    }
}
