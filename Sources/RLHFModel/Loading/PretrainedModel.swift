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
    /// Nil when the file carries no tokenizer. GGUF and Hugging Face models bring a
    /// ``BytePairTokenizer``; models trained from scratch use a ``ByteTokenizer``.
    public let tokenizer: (any Tokenizer)?
    /// Nil when the template is missing or not a recognised format.
    public let chatTemplate: ChatTemplate?
    /// The chat template's Jinja source as the model shipped it (written back by ``save(directory:as:)``).
    public let chatTemplateSource: String?
    /// Tensor types and counts as stored (GGUF), for `rlhf inspect`.
    public let storedTensorTypes: [String: Int]
    /// The `architectures` entry of a Hugging Face `config.json` (nil for GGUF).
    public let architecture: String?

    /// Bundles a model with its tokenizer and chat template.
    public init(
        model: LlamaModel, tokenizer: (any Tokenizer)?, chatTemplate: ChatTemplate?, chatTemplateSource: String? = nil,
        storedTensorTypes: [String: Int] = [:], architecture: String? = nil
    ) {
        self.model = model
        self.tokenizer = tokenizer
        self.chatTemplate = chatTemplate
        self.chatTemplateSource = chatTemplateSource
        self.storedTensorTypes = storedTensorTypes
        self.architecture = architecture
    }

    /// Loads a GGUF file or a Hugging Face directory. A directory whose `config.json` names
    /// `LlamaForSequenceClassification` always gets its scalar head (`score.weight`).
    public static func load(path: String, scalarHead: Bool = false) throws -> PretrainedModel {
        if path.hasSuffix(".gguf") {
            let file = try GGUFFile(path: path)
            var types = [String: Int]()
            for tensor in file.tensors { types[tensor.type.name, default: 0] += 1 }
            return PretrainedModel(
                model: try LlamaModel(gguf: file, scalarHead: scalarHead), tokenizer: try file.tokenizer(),
                chatTemplate: file.chatTemplate, chatTemplateSource: file["tokenizer.chat_template"]?.string,
                storedTensorTypes: types)
        }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw FormatError.cannotOpen(path: path, reason: "expected a .gguf file or a Hugging Face model directory")
        }
        let architecture = LlamaConfiguration.architecture(inConfigJSON: path + "/config.json")
        let model = try LlamaModel.load(
            directory: path, scalarHead: scalarHead || architecture == HuggingFaceHead.sequenceClassification.architecture)
        let tokenizerPath = path + "/tokenizer.json"
        let tokenizer = FileManager.default.fileExists(atPath: tokenizerPath)
            ? try BytePairTokenizer.load(tokenizerJSON: tokenizerPath) : nil
        var source: String?
        if let jinja = try? String(contentsOfFile: path + "/chat_template.jinja", encoding: .utf8) {
            source = jinja
        } else if let data = FileManager.default.contents(atPath: path + "/tokenizer_config.json"),
                  let config = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
                  let jinja = config["chat_template"] as? String {
            source = jinja
        }
        return PretrainedModel(
            model: model, tokenizer: tokenizer, chatTemplate: source.flatMap(ChatTemplate.detect(fromJinja:)),
            chatTemplateSource: source, storedTensorTypes: try Self.storedTypes(directory: path, model: model), architecture: architecture)
    }

    /// Stored element types of the model's tensors in a Hugging Face directory (e.g. `BF16 ×272`).
    static func storedTypes(directory: String, model: LlamaModel) throws -> [String: Int] {
        var types = [String: Int]()
        let files = try LlamaModel.safetensorsFiles(in: directory)
        for entry in model.layout.entries {
            if let info = files.lazy.compactMap({ $0.info(entry.name) }).first { types[info.dtype.rawValue, default: 0] += 1 }
        }
        return types
    }

    /// The tokenizer of a GGUF file or a Hugging Face directory, without loading any weights.
    public static func loadTokenizer(path: String) throws -> BytePairTokenizer {
        if path.hasSuffix(".gguf") {
            guard let tokenizer = try GGUFFile(path: path).tokenizer() else {
                throw FormatError.invalidHeader(file: path, reason: "the file carries no tokenizer")
            }
            return tokenizer
        }
        return try BytePairTokenizer.load(tokenizerJSON: path + "/tokenizer.json")
    }
}
