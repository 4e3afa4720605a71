import RLHFModel
import RLHFTokenizer

/// A tiny random Llama over ``ByteTokenizer`` ids (hidden 32, FFN 64, 4 query / 2 KV heads, 64
/// positions; BOS 256, EOS 257, PAD 258), for rollout, reward and trainer tests.
public enum TinyByteModel {
    public static func configuration(blocks: Int = 2) -> LlamaConfiguration {
        LlamaConfiguration(
            vocabularySize: ByteTokenizer().vocabularySize, hiddenSize: 32, intermediateSize: 64, blockCount: blocks,
            attentionHeadCount: 4, keyValueHeadCount: 2, maximumSequenceLength: 64,
            beginningOfSequenceTokenId: 256, endOfSequenceTokenId: 257, paddingTokenId: 258)
    }

    /// The model with its byte tokenizer (no chat template).
    public static func pretrained(seed: UInt64, blocks: Int = 2, scalarHead: Bool = false) -> PretrainedModel {
        PretrainedModel(
            model: LlamaModel(configuration: configuration(blocks: blocks), scalarHead: scalarHead, seed: seed),
            tokenizer: ByteTokenizer(), chatTemplate: nil)
    }
}
