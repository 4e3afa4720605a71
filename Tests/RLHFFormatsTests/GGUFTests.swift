import Foundation
import RLHFFormats
import RLHFTensor
import Testing
import _RLHFTestSupport

@Suite("GGUF")
struct GGUFTests {
    static let fixtures = ReferencePaths.packageRoot + "/Tests/Fixtures/dequantization.safetensors"

    @Test("dequantization matches the gguf package's reference", arguments: [
        GGMLType.f32, .f16, .bf16, .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q4_K, .q5_K, .q6_K,
        .q2_K, .q3_K, .q8_K, .iq4_nl, .iq4_xs,
    ])
    func dequantization(_ type: GGMLType) throws {
        let fixtures = try SafetensorsFile(path: Self.fixtures)
        let raw = try fixtures.integers(type.name + ".raw").map { UInt8($0) }
        let expected = try fixtures.floats(type.name + ".expected")
        #expect(raw.count == expected.count / type.blockSize * type.blockBytes)
        var actual = [Float](repeating: .nan, count: expected.count)
        raw.withUnsafeBytes { source in
            actual.withUnsafeMutableBufferPointer {
                GGUFDequantizer.dequantize(type, from: source.baseAddress!, count: expected.count, into: $0.baseAddress!)
            }
        }
        #expect(actual == expected, "max difference \(maximumAbsoluteDifference(actual, expected))")
    }

    @Test("the low-bit and IQ4 types have ggml's ids, names and block geometry")
    func lowBitTypeGeometry() {
        // (id, name, block size, block bytes) from gguf-py's GGML_QUANT_SIZES.
        let expected: [(UInt32, String, Int, Int)] = [
            (10, "Q2_K", 256, 84), (11, "Q3_K", 256, 110), (15, "Q8_K", 256, 292), (20, "IQ4_NL", 32, 18), (23, "IQ4_XS", 256, 136),
        ]
        for (id, name, size, bytes) in expected {
            let type = GGMLType(rawValue: id)
            #expect(type?.name == name)
            #expect(type?.blockSize == size && type?.blockBytes == bytes, "\(name)")
            #expect(type?.canDequantize == true, "\(name)")
        }
    }

    /// A one-tensor GGUF file holding each new type's fixture blocks reads back through GGUFFile
    /// (the loader's path); an inner dimension that is not a whole number of blocks, or data cut
    /// short, is refused when the file opens, before anything is allocated for the tensor.
    @Test("GGUF files of the new types read, and bad geometry is refused at open",
          arguments: [GGMLType.q2_K, .q3_K, .q8_K, .iq4_nl, .iq4_xs])
    func lowBitTypesThroughTheFile(_ type: GGMLType) throws {
        let fixtures = try SafetensorsFile(path: Self.fixtures)
        let raw = try fixtures.integers(type.name + ".raw").map { UInt8($0) }
        let expected = try fixtures.floats(type.name + ".expected")
        let path = NSTemporaryDirectory() + "swift-rlhf-\(type.name)-\(UUID().uuidString).gguf"
        defer { try? FileManager.default.removeItem(atPath: path) }
        func write(_ dimensions: [Int], data: [UInt8]) {
            _ = FileManager.default.createFile(atPath: path, contents: Data(Self.oneTensorFile(type, dimensions, data: data)))
        }
        write([expected.count], data: raw)
        let file = try GGUFFile(path: path)
        #expect(file.tensor("t")?.type == type)
        #expect(try file.floats("t") == expected)
        write([expected.count + type.blockSize / 2, 1], data: raw + raw)  // not a whole number of blocks
        #expect(throws: FormatError.self) { _ = try GGUFFile(path: path) }
        write([expected.count], data: Array(raw.dropLast(1)))  // one byte short
        #expect(throws: FormatError.self) { _ = try GGUFFile(path: path) }
    }

    /// GGUF v3 bytes: no metadata, one tensor "t" at offset 0, data after 32-byte alignment.
    static func oneTensorFile(_ type: GGMLType, _ dimensions: [Int], data: [UInt8]) -> [UInt8] {
        var bytes = Array("GGUF".utf8)
        func append<T: FixedWidthInteger>(_ value: T) { withUnsafeBytes(of: value.littleEndian) { bytes += $0 } }
        append(UInt32(3)); append(UInt64(1)); append(UInt64(0))
        append(UInt64(1)); bytes += Array("t".utf8)
        append(UInt32(dimensions.count))
        for dimension in dimensions { append(UInt64(dimension)) }
        append(type.rawValue); append(UInt64(0))
        bytes += [UInt8](repeating: 0, count: (32 - bytes.count % 32) % 32)
        return bytes + data
    }

    @Test func readsTheTinyLlamaFile() throws {
        let file = try GGUFFile(path: ReferencePaths.tinyLlama + "/model.gguf")
        #expect(file.version == 3)
        #expect(file["general.architecture"]?.string == "llama")
        #expect(file["llama.block_count"]?.integer == 2)
        #expect(file.tensor("blk.0.ffn_up.weight")?.type == .q8_0)
        #expect(file.tensor("blk.1.ffn_gate.weight")?.type == .q4_1)
        #expect(file.tensor("token_embd.weight")?.shape == [64, 32])
        #expect(file.tensor("output.weight") == nil)
    }

    /// Mutations of a real file: truncations at every structural boundary region and random byte
    /// flips in the header. Each must give a FormatError or a file that still reads consistently;
    /// never a crash, hang or huge allocation.
    @Test("truncated, bit-flipped and hostile files fail cleanly")
    func fuzz() throws {
        let original = try [UInt8](Data(contentsOf: URL(fileURLWithPath: ReferencePaths.tinyLlama + "/model.gguf")))
        let path = NSTemporaryDirectory() + "swift-rlhf-fuzz-\(UUID().uuidString).gguf"
        defer { try? FileManager.default.removeItem(atPath: path) }
        func attempt(_ bytes: [UInt8]) {
            FileManager.default.createFile(atPath: path, contents: Data(bytes))
            do {
                let file = try GGUFFile(path: path)
                for tensor in file.tensors where tensor.type.canDequantize { _ = try? file.floats(tensor.name) }
                _ = try? LlamaLikeCheck.configuration(file)
            } catch is FormatError {
            } catch {
                Issue.record("unexpected error type: \(error)")
            }
        }
        let headerEnd = try GGUFFile(path: ReferencePaths.tinyLlama + "/model.gguf").tensors.map(\.byteRange.lowerBound).min()!
        // Every truncation inside the header and metadata, and a sample in the data section.
        for length in stride(from: 0, to: headerEnd + 64, by: 1) { attempt(Array(original.prefix(length))) }
        for length in stride(from: headerEnd, to: original.count, by: 997) { attempt(Array(original.prefix(length))) }
        // Random single- and multi-byte corruptions of the header.
        var state: UInt64 = 0x9E37_79B9
        for _ in 0..<2000 {
            var mutated = original
            for _ in 0..<(1 + Int(state % 3)) {
                state = state &* 6364136223846793005 &+ 1442695040888963407
                let position = Int((state >> 33) % UInt64(headerEnd))
                mutated[position] = UInt8(truncatingIfNeeded: state >> 17)
            }
            attempt(mutated)
        }
        // Hostile counts and lengths.
        var huge = original
        huge.replaceSubrange(8..<16, with: withUnsafeBytes(of: UInt64.max.littleEndian, Array.init))
        attempt(huge)
        var version = original
        version[4] = 1
        #expect(throws: FormatError.self) {
            FileManager.default.createFile(atPath: path, contents: Data(version))
            _ = try GGUFFile(path: path)
        }
    }
}

/// Reads the metadata a model loader would (without depending on RLHFModel).
enum LlamaLikeCheck {
    static func configuration(_ file: GGUFFile) throws -> [Int?] {
        ["llama.embedding_length", "llama.block_count", "llama.attention.head_count"].map { file[$0]?.integer }
    }
}
