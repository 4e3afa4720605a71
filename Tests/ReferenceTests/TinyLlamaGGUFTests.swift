import RLHFFormats
import RLHFModel
import RLHFTensor
import RLHFTraining
import Testing
import _RLHFTestSupport

/// The tiny Llama's GGUF file (F32 with one Q8_0 and one Q4_1 tensor, Q/K rows permuted) against
/// the PyTorch outputs computed from its dequantized weights, and against the safetensors file.
@Suite("Tiny Llama from GGUF")
struct TinyLlamaGGUFTests {
    static func ggufModel() throws -> LlamaModel {
        try LlamaModel(gguf: GGUFFile(path: ReferencePaths.tinyLlama + "/model.gguf"))
    }

    @Test func configurationFromMetadata() throws {
        let reference = try TinyLlamaReference()
        var fromGGUF = try Self.ggufModel().configuration
        #expect(fromGGUF.tiedEmbeddings && fromGGUF.headDimension == 8 && fromGGUF.keyValueHeadCount == 2)
        // The HF config carries ids and a context length the GGUF file does not; the shape is identical.
        fromGGUF.beginningOfSequenceTokenId = reference.configuration.beginningOfSequenceTokenId
        fromGGUF.endOfSequenceTokenId = reference.configuration.endOfSequenceTokenId
        fromGGUF.paddingTokenId = reference.configuration.paddingTokenId
        fromGGUF.maximumSequenceLength = reference.configuration.maximumSequenceLength
        #expect(fromGGUF == reference.configuration)
    }

    @Test("logits within 1e-4 and every gradient within 1e-3 of PyTorch")
    func logitsAndGradients() throws {
        let reference = try TinyLlamaReference()
        let loaded = try Self.ggufModel()
        // Hugging Face's config has pad_token_id 2 (its embedding row gets no input gradient).
        var configuration = loaded.configuration
        configuration.paddingTokenId = reference.configuration.paddingTokenId
        let model = LlamaModel(configuration: configuration, parameters: loaded.parameters)
        let outputs = try SafetensorsFile(path: ReferencePaths.tinyLlama + "/reference-gguf.safetensors")
        let logits = try model.logits(for: reference.batch)
        #expect(maximumAbsoluteDifference(logits, try outputs.floats("logits")) < 1e-4)
        let output = try model.forward(reference.batch, retainForBackward: true)
        let (loss, gradient) = LanguageModelingLoss.mean(logProbs: output.tokenLogProbs, batch: reference.batch)
        #expect(abs(loss - reference.metadata.loss_gguf_weights) < 1e-5)
        model.zeroGradients()
        try model.backward(tokenLogProbGradients: gradient)
        for entry in model.layout.entries {
            let error = relativeError(Array(model.gradient(named: entry.name)!), try outputs.floats("grad." + entry.name))
            #expect(error < 1e-3, "\(entry.name): \(error)")
        }
    }

    @Test("GGUF and safetensors hold the same weights once Q/K rows are un-permuted")
    func sameWeightsAsSafetensors() throws {
        let reference = try TinyLlamaReference()
        let fromGGUF = try Self.ggufModel(), fromSafetensors = try reference.model()
        let quantized: Set = ["model.layers.0.mlp.up_proj.weight", "model.layers.1.mlp.gate_proj.weight"]
        for entry in fromGGUF.layout.entries {
            let a = Array(fromGGUF.parameter(named: entry.name)!), b = Array(fromSafetensors.parameter(named: entry.name)!)
            if quantized.contains(entry.name) {
                #expect(relativeError(a, b) < 0.1, "\(entry.name) should be close (quantized)")
            } else {
                #expect(a == b, "\(entry.name) should be bit-identical")
            }
        }
        // Swap the two quantized tensors in: then both files give the same logits.
        for name in quantized {
            fromSafetensors.parameter(named: name)!.update(from: fromGGUF.parameter(named: name)!)
        }
        let difference = maximumAbsoluteDifference(
            try fromGGUF.logits(for: reference.batch), try fromSafetensors.logits(for: reference.batch))
        #expect(difference < 1e-5)
    }

    @Test("skipping the Q/K un-permutation changes the logits (the conversion matters)")
    func permutationMatters() throws {
        let reference = try TinyLlamaReference()
        let model = try Self.ggufModel()
        let file = try GGUFFile(path: ReferencePaths.tinyLlama + "/model.gguf")
        let correct = try model.logits(for: reference.batch)
        for (hf, gguf) in [("model.layers.0.self_attn.q_proj.weight", "blk.0.attn_q.weight"),
                           ("model.layers.0.self_attn.k_proj.weight", "blk.0.attn_k.weight")] {
            try file.readFloats(gguf, into: model.parameter(named: hf)!)
        }
        #expect(maximumAbsoluteDifference(try model.logits(for: reference.batch), correct) > 1e-2)
    }
}
