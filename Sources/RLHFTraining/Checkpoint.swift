import RLHFFormats
import RLHFModel
import RLHFTensor

import Foundation

/// A training checkpoint: everything needed to continue a run bit for bit.
///
/// On disk, a directory:
///
///     config.json             Hugging Face model configuration
///     model.safetensors       weights under Hugging Face names (the directory loads as a HF model)
///     optimizer.safetensors   AdamW moments: exp_avg.<name>, exp_avg_sq.<name>
///     trainer_state.json      step, RNG state, optimizer and schedule settings, data position
///     value_head.safetensors  a policy's value head (PPO), when the directory is a causal LM
///
/// Saving writes a complete sibling directory first and then swaps it in with renames, so a run
/// killed at any moment leaves either the previous checkpoint or the new one, never a torn one.
/// Floats are stored in binary and the RNG state as integers: resuming is exact.
public enum Checkpoint {
    /// Bumped when the layout of a checkpoint changes (2: hyper-parameters left the trainer state
    /// for `parameters.json`).
    public static let formatVersion = 2

    /// Where a checkpoint written as a causal LM directory keeps a value head (`score.weight`).
    public static let valueHeadFile = "value_head.safetensors"

    /// The progress part of a checkpoint: where the run is, never how it is configured. The
    /// hyper-parameters have one owner, the trainer's `Parameters` built from the command line;
    /// a checkpoint keeps a copy in `parameters.json` for the record, which a resumed run compares
    /// with its own (``differences(from:to:)``) instead of taking values from it.
    public struct TrainerState: Codable, Sendable, Equatable {
        /// Checkpoint format version (``Checkpoint/formatVersion`` when written).
        public var formatVersion: Int = Checkpoint.formatVersion
        /// Completed optimizer steps.
        public var step: Int
        /// The trainer's random generator, exactly.
        public var generator: SeededGenerator
        /// Which parameters train (the structure of the optimizer state).
        public var trainable: TrainableParameters
        /// Free-form trainer fields (e.g. the data cursor), as strings.
        public var extra: [String: String]

        public init(step: Int, generator: SeededGenerator, trainable: TrainableParameters, extra: [String: String] = [:]) {
            self.step = step
            self.generator = generator
            self.trainable = trainable
            self.extra = extra
        }
    }

    /// Errors reading a checkpoint.
    public enum CheckpointError: Error, CustomStringConvertible, Equatable {
        case notFound(path: String)
        case unsupportedVersion(path: String, version: Int)
        case stepMismatch(path: String, state: Int, optimizer: Int)

        public var description: String {
            switch self {
            case let .notFound(path): return "no checkpoint at \(path) (expected trainer_state.json, model.safetensors, optimizer.safetensors)"
            case let .unsupportedVersion(path, version): return "\(path): checkpoint format \(version) is not supported (this build reads \(Checkpoint.formatVersion))"
            case let .stepMismatch(path, state, optimizer): return "\(path): trainer_state.json says step \(state) but optimizer.safetensors says \(optimizer)"
            }
        }
    }

    /// Writes a checkpoint of `model`, `optimizer` and `state` to `directory`, atomically.
    /// - Parameters:
    ///   - parameters: the run's hyper-parameters, written to `parameters.json` for the record.
    ///   - pretrained: when given, the model is written as its Hugging Face directory (with
    ///     tokenizer and chat template) instead of the bare configuration and weights.
    public static func save(
        model: LlamaModel, optimizer: AdamW, state: TrainerState, parameters: some Encodable, to directory: String,
        pretrained: PretrainedModel? = nil
    ) throws {
        let fileManager = FileManager.default
        let parent = URL(fileURLWithPath: directory).deletingLastPathComponent().path
        try fileManager.createDirectory(atPath: parent, withIntermediateDirectories: true)
        let staging = directory + ".partial"
        let previous = directory + ".previous"
        try? fileManager.removeItem(atPath: staging)
        try fileManager.createDirectory(atPath: staging, withIntermediateDirectories: true)
        if let pretrained {
            try pretrained.save(directory: staging)
            // A policy's value head (PPO) is not part of a causal LM directory: kept beside it.
            if let head = model.layout.entries.first(where: { $0.role == .scalarHeadWeight }) {
                var values = SafetensorsWriter()
                try values.add(name: head.name, shape: head.shape,
                               floats: UnsafeBufferPointer(start: model.parameters.pointer + head.offset, count: head.count))
                try values.write(to: staging + "/" + valueHeadFile)
            }
        } else {
            try model.save(directory: staging)
        }
        var writer = SafetensorsWriter(metadata: ["step": String(optimizer.step)])
        for entry in model.layout.entries {
            try writer.add(name: "exp_avg." + entry.name, shape: entry.shape,
                           floats: UnsafeBufferPointer(start: optimizer.firstMoment.pointer + entry.offset, count: entry.count))
            try writer.add(name: "exp_avg_sq." + entry.name, shape: entry.shape,
                           floats: UnsafeBufferPointer(start: optimizer.secondMoment.pointer + entry.offset, count: entry.count))
        }
        try writer.write(to: staging + "/optimizer.safetensors")
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFile.write(encoder.encode(state), to: staging + "/trainer_state.json")
        try AtomicFile.write(encoder.encode(parameters), to: staging + "/parameters.json")
        // Swap: directory → previous, staging → directory, drop previous.
        try? fileManager.removeItem(atPath: previous)
        if fileManager.fileExists(atPath: directory) { try fileManager.moveItem(atPath: directory, toPath: previous) }
        try fileManager.moveItem(atPath: staging, toPath: directory)
        try? fileManager.removeItem(atPath: previous)
    }

    /// The directory to resume from: `directory`, or its `.previous` sibling when a save was
    /// interrupted between its two renames.
    public static func resolve(_ directory: String) -> String? {
        let fileManager = FileManager.default
        for candidate in [directory, directory + ".previous"]
        where fileManager.fileExists(atPath: candidate + "/trainer_state.json") {
            return candidate
        }
        return nil
    }

    /// Loads a checkpoint: the model (with its scalar head when the file has one), the optimizer
    /// with its moments and step (and `optimizer`, the hyper-parameters of the resumed run), and
    /// the trainer state.
    public static func load(
        from directory: String, optimizer optimizerConfiguration: AdamW.Configuration, multiplier: any MatrixMultiplier = MatrixMultiply.best
    ) throws -> (model: LlamaModel, optimizer: AdamW, state: TrainerState) {
        guard let path = resolve(directory) else { throw CheckpointError.notFound(path: directory) }
        let state = try JSONDecoder().decode(
            TrainerState.self, from: Data(contentsOf: URL(fileURLWithPath: path + "/trainer_state.json")))
        guard state.formatVersion == formatVersion else {
            throw CheckpointError.unsupportedVersion(path: path, version: state.formatVersion)
        }
        let configuration = try LlamaConfiguration.load(fromJSONFile: path + "/config.json")
        var weights = [try SafetensorsFile(path: path + "/model.safetensors")]
        if FileManager.default.fileExists(atPath: path + "/" + valueHeadFile) {
            weights.append(try SafetensorsFile(path: path + "/" + valueHeadFile))
        }
        let model = try LlamaModel(
            configuration: configuration, safetensors: weights, scalarHead: weights.contains { $0.info("score.weight") != nil },
            multiplier: multiplier)
        model.trainable = state.trainable
        let optimizer = AdamW(model: model, configuration: optimizerConfiguration)
        let moments = try SafetensorsFile(path: path + "/optimizer.safetensors")
        try model.readSafetensors(moments, into: optimizer.firstMoment, prefix: "exp_avg.")
        try model.readSafetensors(moments, into: optimizer.secondMoment, prefix: "exp_avg_sq.")
        let optimizerStep = Int(moments.metadata["step"] ?? "") ?? -1
        guard optimizerStep == state.step else {
            throw CheckpointError.stepMismatch(path: path, state: state.step, optimizer: optimizerStep)
        }
        optimizer.step = optimizerStep
        return (model, optimizer, state)
    }

    /// The settings that differ between the `parameters.json` of the checkpoint at `directory`
    /// and `parameters` (key paths with both values, e.g. `"learningRate: 0.003 → 0.001"`);
    /// empty when they agree or the checkpoint has no record.
    public static func differences(from directory: String, to parameters: some Encodable) throws -> [String] {
        guard let path = resolve(directory), let recorded = FileManager.default.contents(atPath: path + "/parameters.json") else { return [] }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let current = try encoder.encode(parameters)
        func flatten(_ value: Any, _ prefix: String, into out: inout [String: String]) {
            if let object = value as? [String: Any] {
                for (key, member) in object { flatten(member, prefix.isEmpty ? key : prefix + "." + key, into: &out) }
            } else {
                out[prefix] = "\(value)"
            }
        }
        var old = [String: String](), new = [String: String]()
        flatten(try JSONSerialization.jsonObject(with: recorded, options: [.fragmentsAllowed]), "", into: &old)
        flatten(try JSONSerialization.jsonObject(with: current, options: [.fragmentsAllowed]), "", into: &new)
        return Set(old.keys).union(new.keys).sorted().compactMap { key in
            old[key] == new[key] ? nil : "\(key): \(old[key] ?? "unset") → \(new[key] ?? "unset")"
        }
    }
}
