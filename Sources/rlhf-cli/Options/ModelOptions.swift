import ArgumentParser
import Foundation
import RLHF

/// `--model PATH`, shared by the commands that load a pretrained model.
struct ModelOptions: ParsableArguments {
    @Option(help: "A .gguf file or a Hugging Face model directory (config.json, safetensors, tokenizer.json).")
    var model: String

    func load() throws -> PretrainedModel { try Self.load(path: model) }

    static func load(path: String, scalarHead: Bool = false) throws -> PretrainedModel {
        guard FileManager.default.fileExists(atPath: path) else { throw ValidationError("no such file or directory: \(path)") }
        return try PretrainedModel.load(path: path, scalarHead: scalarHead)
    }

    func loadWithTokenizer() throws -> (PretrainedModel, any Tokenizer) {
        let loaded = try load()
        guard let tokenizer = loaded.tokenizer else { throw ValidationError("\(model) has no tokenizer") }
        return (loaded, tokenizer)
    }
}
