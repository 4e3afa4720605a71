import Foundation
import RLHFFormats
import RLHFTensor
import RLHFTokenizer

/// A model with the tokenizer and chat template it ships with.
///
/// Loading rules: a path ending in `.gguf` is read as GGUF (weights dequantized to float32,
/// tokenizer and template from the metadata); a directory is read as a Hugging Face model
/// (`config.json`, safetensors, `tokenizer.json`, and `chat_template.jinja` or the
/// `chat_template` field of `tokenizer_config.json`).
public struct PretrainedModel {
    public let model: LlamaModel
    /// Nil when the file carries no tokenizer.
    public let tokenizer: BytePairTokenizer?
    /// Nil when the template is missing or not a recognised format.
    public let chatTemplate: ChatTemplate?
    /// Tensor types and counts as stored (GGUF), for `rlhf inspect`.
    public let storedTensorTypes: [String: Int]

    /// Bundles a model with its tokenizer and chat template.
    public init(model: LlamaModel, tokenizer: BytePairTokenizer?, chatTemplate: ChatTemplate?, storedTensorTypes: [String: Int] = [:]) {
        self.model = model
        self.tokenizer = tokenizer
        self.chatTemplate = chatTemplate
        self.storedTensorTypes = storedTensorTypes
    }

    /// Loads a GGUF file or a Hugging Face directory.
    public static func load(path: String, scalarHead: Bool = false) throws -> PretrainedModel {
        if path.hasSuffix(".gguf") {
            let file = try GGUFFile(path: path)
            var types = [String: Int]()
            for tensor in file.tensors { types[tensor.type.name, default: 0] += 1 }
            return PretrainedModel(
                model: try LlamaModel(gguf: file, scalarHead: scalarHead), tokenizer: try file.tokenizer(),
                chatTemplate: file.chatTemplate, storedTensorTypes: types)
        }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw FormatError.cannotOpen(path: path, reason: "expected a .gguf file or a Hugging Face model directory")
        }
        let model = try LlamaModel.load(directory: path, scalarHead: scalarHead)
        let tokenizerPath = path + "/tokenizer.json"
        let tokenizer = FileManager.default.fileExists(atPath: tokenizerPath)
            ? try BytePairTokenizer.load(tokenizerJSON: tokenizerPath) : nil
        var template: ChatTemplate?
        if let jinja = try? String(contentsOfFile: path + "/chat_template.jinja", encoding: .utf8) {
            template = ChatTemplate.detect(fromJinja: jinja)
        } else if let data = FileManager.default.contents(atPath: path + "/tokenizer_config.json"),
                  let config = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
                  let jinja = config["chat_template"] as? String {
            template = ChatTemplate.detect(fromJinja: jinja)
        }
        return PretrainedModel(model: model, tokenizer: tokenizer, chatTemplate: template, storedTensorTypes: ["F32": model.layout.entries.count])
    }
}
