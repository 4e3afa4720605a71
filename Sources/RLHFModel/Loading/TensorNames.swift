/// Hugging Face ↔ GGUF (llama.cpp) tensor names, in one place.
public enum TensorNames {
    private static let blockSuffixes: [(huggingFace: String, gguf: String)] = [
        ("input_layernorm", "attn_norm"), ("self_attn.q_proj", "attn_q"), ("self_attn.k_proj", "attn_k"),
        ("self_attn.v_proj", "attn_v"), ("self_attn.o_proj", "attn_output"), ("post_attention_layernorm", "ffn_norm"),
        ("mlp.gate_proj", "ffn_gate"), ("mlp.up_proj", "ffn_up"), ("mlp.down_proj", "ffn_down"),
    ]

    /// The GGUF name of a Hugging Face Llama parameter name, or nil for names GGUF does not have.
    public static func gguf(fromHuggingFace name: String) -> String? {
        switch name {
        case "model.embed_tokens.weight": return "token_embd.weight"
        case "model.norm.weight": return "output_norm.weight"
        case "lm_head.weight": return "output.weight"
        default: break
        }
        let prefix = "model.layers."
        guard name.hasPrefix(prefix), name.hasSuffix(".weight") else { return nil }
        let rest = name.dropFirst(prefix.count).dropLast(".weight".count)
        guard let dot = rest.firstIndex(of: "."), let block = Int(rest[..<dot]) else { return nil }
        let part = String(rest[rest.index(after: dot)...])
        guard let match = blockSuffixes.first(where: { $0.huggingFace == part }) else { return nil }
        return "blk.\(block).\(match.gguf).weight"
    }
}
