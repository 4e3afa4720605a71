import RLHFFormats
import RLHFTensor

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Loading and saving Hugging Face Llama checkpoints (`config.json` + safetensors with HF names).
///
/// Loading rules: the directory's `config.json` gives the shape; weights come from
/// `model.safetensors`, or from the shards listed by `model.safetensors.index.json`. Every parameter
/// of the layout must be present with its exact shape; `lm_head.weight` is ignored when the
/// embeddings are tied; tensors the model does not use (e.g. `rotary_emb.inv_freq`) are ignored.
extension LlamaModel {
    /// Loads `config.json` and the safetensors weights of a Hugging Face model directory.
    public static func load(directory: String, scalarHead: Bool = false) throws -> LlamaModel {
        let configuration = try LlamaConfiguration.load(fromJSONFile: directory + "/config.json")
        try configuration.validate()
        let files = try safetensorsFiles(in: directory)
        return try LlamaModel(configuration: configuration, safetensors: files, scalarHead: scalarHead)
    }

    /// The safetensors files of a model directory (single file or sharded).
    static func safetensorsFiles(in directory: String) throws -> [SafetensorsFile] {
        let single = directory + "/model.safetensors"
        if FileManager.default.fileExists(atPath: single) { return [try SafetensorsFile(path: single)] }
        let indexPath = directory + "/model.safetensors.index.json"
        guard FileManager.default.fileExists(atPath: indexPath) else {
            throw FormatError.cannotOpen(path: single, reason: "neither model.safetensors nor model.safetensors.index.json exists")
        }
        struct Index: Decodable { let weight_map: [String: String] }
        let index = try JSONDecoder().decode(Index.self, from: Data(contentsOf: URL(fileURLWithPath: indexPath)))
        let shards = Set(index.weight_map.values).sorted()
        return try shards.map { try SafetensorsFile(path: directory + "/" + $0) }
    }

    /// A model whose parameters are read from `safetensors` files (Hugging Face names).
    /// A missing scalar head is initialised (weight N(0, 1/(C+1)), bias 0) rather than rejected.
    public convenience init(
        configuration: LlamaConfiguration, safetensors files: [SafetensorsFile], scalarHead: Bool = false,
        multiplier: any MatrixMultiplier = MatrixMultiply.best
    ) throws {
        try configuration.validate()
        self.init(configuration: configuration, scalarHead: scalarHead, multiplier: multiplier)
        // Only a scalar head can be missing from the file; everything else is read below.
        initialize(seed: 0) { $0.role == .scalarHeadWeight }
        for entry in layout.entries {
            guard let file = files.first(where: { $0.info(entry.name) != nil }), let info = file.info(entry.name) else {
                if entry.role == .scalarHeadWeight { continue }
                // A sequence-classification checkpoint has no language-model head: zeros (its
                // log-probs are meaningless, its scores are what it is for).
                if entry.role == .outputHead && scalarHead && files.contains(where: { $0.info("score.weight") != nil }) {
                    (parameters.pointer + entry.offset).update(repeating: 0, count: entry.count)
                    continue
                }
                throw FormatError.missingTensor(name: entry.name)
            }
            if info.shape != entry.shape {
                throw FormatError.shapeMismatch(name: entry.name, expected: entry.shape, actual: info.shape)
            }
            try file.readFloats(
                entry.name, into: UnsafeMutableBufferPointer(start: parameters.pointer + entry.offset, count: entry.count))
        }
    }

    /// Writes every parameter (but those named in `skipping`) to one safetensors file under its
    /// Hugging Face name (atomically).
    public func writeSafetensors(to path: String, metadata: [String: String] = ["format": "pt"], skipping: Set<String> = []) throws {
        try writeSafetensors(buffer: parameters, to: path, prefix: "", metadata: metadata, skipping: skipping)
    }

    /// Writes `buffer` (laid out like the parameters: gradients, optimizer moments) to a
    /// safetensors file with each tensor named `prefix + name`.
    public func writeSafetensors(
        buffer: FloatBuffer, to path: String, prefix: String, metadata: [String: String] = [:], skipping: Set<String> = []
    ) throws {
        precondition(buffer.count == layout.totalCount, "buffer does not match the layout")
        var writer = SafetensorsWriter(metadata: metadata)
        for entry in layout.entries where !skipping.contains(entry.name) {
            try writer.add(
                name: prefix + entry.name, shape: entry.shape,
                floats: UnsafeBufferPointer(start: buffer.pointer + entry.offset, count: entry.count))
        }
        try writer.write(to: path)
    }

    /// Reads tensors named `prefix + name` from `file` into `buffer` (laid out like the parameters).
    public func readSafetensors(_ file: SafetensorsFile, into buffer: FloatBuffer, prefix: String) throws {
        precondition(buffer.count == layout.totalCount, "buffer does not match the layout")
        for entry in layout.entries {
            let name = prefix + entry.name
            guard let info = file.info(name) else { throw FormatError.missingTensor(name: name) }
            if info.shape != entry.shape {
                throw FormatError.shapeMismatch(name: name, expected: entry.shape, actual: info.shape)
            }
            try file.readFloats(name, into: UnsafeMutableBufferPointer(start: buffer.pointer + entry.offset, count: entry.count))
        }
    }

    /// Saves `config.json` and `model.safetensors` into `directory` (created if needed), each
    /// written atomically: a Hugging Face-loadable model directory.
    public func save(directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try AtomicFile.write(configuration.jsonData(), to: directory + "/config.json")
        try writeSafetensors(to: directory + "/model.safetensors")
    }
}
