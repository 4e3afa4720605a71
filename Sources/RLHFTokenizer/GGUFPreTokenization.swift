/// How a GGUF file's `tokenizer.ggml.pre` name tokenizes: the pre-tokenizer, `ignore_merges` and
/// normalizer of the model family's own Hugging Face `tokenizer.json`.
///
/// Where llama.cpp and Hugging Face `tokenizers` disagree, this follows `tokenizers` (the tokenizer
/// the model was trained with, and what transformers builds from the same GGUF file):
/// - `smollm`: llama.cpp splits every digit out first, then runs the GPT-2 expression between the
///   digits. SmolLM2's `tokenizer.json` has no `Digits` step — `ByteLevel` runs the GPT-2 expression
///   over the whole text, where `\s+(?!\S)` leaves the last whitespace character of a run to the
///   piece that follows — so `"\n\n1"` is `Ċ`, `Ċ`, `1` (not `ĊĊ`, `1`). → `.gpt2`.
/// - `qwen2`: Qwen 2's `tokenizer.json` normalizes to NFC first; llama.cpp does not. → NFC on.
/// - `llama-bpe` / `llama3`: Llama 3's `tokenizer.json` sets `ignore_merges` (as llama.cpp does).
/// - `starcoder`: StarCoder's `tokenizer.json` really has `Digits(individual_digits)` before
///   `ByteLevel`, so there the digit split stays (`.starCoder`).
/// Any other name (`gpt-2`, `default`, …) is the GPT-2 expression without normalization.
public struct GGUFPreTokenization: Equatable, Sendable {
    public let preTokenizer: PreTokenizer
    public let ignoresMerges: Bool
    public let normalizesNFC: Bool

    public init(preTokenizer: PreTokenizer, ignoresMerges: Bool = false, normalizesNFC: Bool = false) {
        self.preTokenizer = preTokenizer
        self.ignoresMerges = ignoresMerges
        self.normalizesNFC = normalizesNFC
    }

    /// The settings for a `tokenizer.ggml.pre` value (nil or unknown: GPT-2).
    public init(ggufName: String?) {
        switch ggufName ?? "default" {
        case "llama-bpe", "llama3", "llama-v3": self.init(preTokenizer: .llama3, ignoresMerges: true)
        case "qwen2": self.init(preTokenizer: .qwen2, normalizesNFC: true)
        case "starcoder": self.init(preTokenizer: .starCoder)
        default: self.init(preTokenizer: .gpt2)  // includes "smollm": see the type's documentation
        }
    }
}
