import ArgumentParser
import Foundation
import RLHF

/// `rlhf inspect MODEL`: what a model file contains.
struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect", abstract: "Show a model's architecture, tensor types, parameter count, tokenizer and chat template.")

    @Argument(help: "A .gguf file or a Hugging Face model directory.") var model: String

    func run() throws {
        let loaded = try ModelOptions.load(path: model)
        let c = loaded.model.configuration
        print("model:        \(model)")
        print("architecture: llama, \(c.blockCount) blocks, hidden \(c.hiddenSize), FFN \(c.intermediateSize)")
        print("attention:    \(c.attentionHeadCount) query / \(c.keyValueHeadCount) key-value heads of \(c.headDimension), RoPE θ \(c.ropeTheta), RMSNorm ε \(c.rmsNormEpsilon)")
        print("vocabulary:   \(c.vocabularySize), output head \(c.tiedEmbeddings ? "tied to the embedding" : "separate"), context \(c.maximumSequenceLength)")
        print("parameters:   \(loaded.model.parameterCount) (\(String(format: "%.1f", Double(loaded.model.parameterCount) / 1e6))M, float32 in memory)")
        let types = loaded.storedTensorTypes.sorted { $0.key < $1.key }.map { "\($0.key) ×\($0.value)" }
        print("stored types: \(types.joined(separator: ", "))")
        if let tokenizer = loaded.tokenizer as? BytePairTokenizer {
            func name(_ id: Int?) -> String { id.map { "\($0) \(tokenizer.tokens[$0].debugDescription)" } ?? "none" }
            let flags = [tokenizer.normalizesNFC ? "NFC" : nil, tokenizer.ignoresMerges ? "ignore_merges" : nil].compactMap { $0 }
            let pre = tokenizer.preTokenizer.rawValue + (flags.isEmpty ? "" : " (\(flags.joined(separator: ", ")))")
            print("tokenizer:    byte-level BPE, \(tokenizer.vocabularySize) tokens, pre-tokenizer \(pre), \(tokenizer.specialTokens.count) special")
            print("              BOS \(name(tokenizer.beginningOfSequenceTokenId)), EOS \(name(tokenizer.endOfSequenceTokenId)), PAD \(name(tokenizer.paddingTokenId))")
        } else {
            print("tokenizer:    none")
        }
        if let template = loaded.chatTemplate {
            switch template {
            case let .chatML(system): print("chat:         ChatML, default system prompt: \(system.map { $0.debugDescription } ?? "none")")
            case let .llama3(system): print("chat:         Llama 3, default system prompt: \(system.map { $0.debugDescription } ?? "none")")
            case let .llama31(date): print("chat:         Llama 3.1+, Today Date: \(date.map { $0.debugDescription } ?? "the day of rendering (Llama 3.2)")")
            }
        } else {
            print("chat:         no recognised template")
        }
    }
}
