import RLHFFormats
import RLHFModel
import RLHFTensor

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The PyTorch oracle in `../shared/reference/tiny-llama` (see its README).
public struct TinyLlamaReference {
    public struct Metadata: Decodable {
        public struct AdamWRun: Decodable {
            public let lr: Float
            public let betas: [Float]
            public let eps: Float
            public let weight_decay: Float
            public let losses_before_each_of_4_steps: [Double]
        }
        public let input_ids: [[Int]]
        public let loss_safetensors_weights: Double
        public let loss_gguf_weights: Double
        public let adamw: AdamWRun
    }

    public let directory: String
    public let metadata: Metadata
    public let configuration: LlamaConfiguration

    public init() throws {
        directory = ReferencePaths.tinyLlama
        metadata = try JSONDecoder().decode(
            Metadata.self, from: Data(contentsOf: URL(fileURLWithPath: directory + "/reference.json")))
        configuration = try LlamaConfiguration.load(fromJSONFile: directory + "/config.json")
    }

    /// The reference batch: two full rows of 12 tokens.
    public var batch: TokenBatch { TokenBatch(rows: metadata.input_ids) }

    /// The model loaded from `model.safetensors`.
    public func model(multiplier: any MatrixMultiplier = MatrixMultiply.best) throws -> LlamaModel {
        try LlamaModel(
            configuration: configuration, safetensors: [SafetensorsFile(path: directory + "/model.safetensors")],
            multiplier: multiplier)
    }

    /// `reference-safetensors.safetensors` (logits and every gradient).
    public func outputs() throws -> SafetensorsFile {
        try SafetensorsFile(path: directory + "/reference-safetensors.safetensors")
    }
}
