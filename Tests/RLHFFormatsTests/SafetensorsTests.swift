import Foundation
import RLHFFormats
import Testing
import _RLHFTestSupport

@Suite("safetensors")
struct SafetensorsTests {
    static func temporaryPath(_ name: String) -> String {
        NSTemporaryDirectory() + "swift-rlhf-\(UUID().uuidString)-\(name)"
    }

    /// A safetensors file built by hand: header JSON and raw data.
    static func handMade(header: String, data: [UInt8] = [], declaredLength: UInt64? = nil) -> [UInt8] {
        let json = Array(header.utf8)
        var bytes = withUnsafeBytes(of: (declaredLength ?? UInt64(json.count)).littleEndian) { Array($0) }
        bytes += json + data
        return bytes
    }

    static func write(_ bytes: [UInt8]) -> String {
        let path = temporaryPath("hand.safetensors")
        FileManager.default.createFile(atPath: path, contents: Data(bytes))
        return path
    }

    @Test func roundTrip() throws {
        let path = Self.temporaryPath("round.safetensors")
        defer { try? FileManager.default.removeItem(atPath: path) }
        var writer = SafetensorsWriter(metadata: ["format": "pt", "note": "quote \" and \\ and\nnewline"])
        try writer.add(name: "a.weight", shape: [2, 3], floats: [1, 2, 3, 4, 5, 6])
        try writer.add(name: "empty", shape: [0, 4], floats: [])
        try writer.add(name: "scalar", shape: [], floats: [7.5])
        try writer.add(name: "ids", shape: [3], int64s: [-1, 0, 1 << 40])
        try writer.write(to: path)
        let file = try SafetensorsFile(path: path)
        #expect(file.metadata["note"] == "quote \" and \\ and\nnewline")
        #expect(try file.floats("a.weight") == [1, 2, 3, 4, 5, 6])
        #expect(file.info("a.weight")?.shape == [2, 3])
        #expect(try file.floats("empty").isEmpty)
        #expect(try file.floats("scalar") == [7.5])
        #expect(try file.integers("ids") == [-1, 0, 1 << 40])
        #expect(file.tensors.count == 4)
        // The data section starts on an 8-byte boundary.
        #expect(file.tensors.map(\.byteRange.lowerBound).min()! % 8 == 0)
    }

    @Test func writerRejectsBadInput() {
        var writer = SafetensorsWriter()
        #expect(throws: FormatError.shapeMismatch(name: "x", expected: [2, 2], actual: [3])) {
            try writer.add(name: "x", shape: [2, 2], floats: [1, 2, 3])
        }
        #expect(throws: Never.self) { try writer.add(name: "y", shape: [1], floats: [1]) }
        #expect(throws: FormatError.duplicateTensor(name: "y")) { try writer.add(name: "y", shape: [1], floats: [1]) }
    }

    @Test func readsHuggingFaceFiles() throws {
        let model = try SafetensorsFile(path: ReferencePaths.tinyLlama + "/model.safetensors")
        #expect(model.info("model.embed_tokens.weight")?.shape == [64, 32])
        #expect(model.info("model.layers.1.self_attn.k_proj.weight")?.dtype == .f32)
        let reference = try SafetensorsFile(path: ReferencePaths.tinyLlama + "/reference-safetensors.safetensors")
        let ids = try reference.integers("input_ids")
        #expect(Array(ids.prefix(4)) == [1, 5, 9, 33])
        #expect(reference.info("logits")?.shape == [2, 12, 64])
        #expect(throws: FormatError.unsupportedDType(name: "input_ids", dtype: "I32 (expected a floating-point tensor)")) {
            try reference.floats("input_ids")
        }
        #expect(throws: FormatError.missingTensor(name: "nope")) { try reference.floats("nope") }
    }

    @Test func readsHalfPrecisionTensors() throws {
        // F16 [1, 2] = (1.0, -2.0); BF16 [2] = (1.0, 0.5).
        let header = #"{"h":{"dtype":"F16","shape":[1,2],"data_offsets":[0,4]},"b":{"dtype":"BF16","shape":[2],"data_offsets":[4,8]}}"#
        let path = Self.write(Self.handMade(header: header, data: [0x00, 0x3C, 0x00, 0xC0, 0x80, 0x3F, 0x00, 0x3F]))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let file = try SafetensorsFile(path: path)
        #expect(try file.floats("h") == [1, -2])
        #expect(try file.floats("b") == [1, 0.5])
    }

    @Test("hostile headers give typed errors")
    func malformedHeaders() {
        let cases: [(String, [UInt8])] = [
            ("huge header length", Self.handMade(header: "{}", declaredLength: 1 << 60)),
            ("invalid JSON", Self.handMade(header: "{\"a\": [")),
            ("not an object", Self.handMade(header: "[1, 2]")),
            ("unknown dtype", Self.handMade(header: #"{"a":{"dtype":"F8","shape":[1],"data_offsets":[0,1]}}"#, data: [0])),
            ("past the end", Self.handMade(header: #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#, data: [0, 0, 0, 0])),
            ("size mismatch", Self.handMade(header: #"{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, data: Array(repeating: 0, count: 12))),
            ("overlap", Self.handMade(
                header: #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#,
                data: Array(repeating: 0, count: 12))),
            ("negative dimension", Self.handMade(header: #"{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0])),
            ("overflowing shape", Self.handMade(
                header: #"{"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0])),
            ("reversed offsets", Self.handMade(header: #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}}"#, data: [0, 0, 0, 0])),
            ("three offsets", Self.handMade(header: #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4,8]}}"#, data: [0, 0, 0, 0])),
            ("empty file", []),
        ]
        for (label, bytes) in cases {
            let path = Self.write(bytes)
            defer { try? FileManager.default.removeItem(atPath: path) }
            #expect(throws: FormatError.self, "\(label)") { try SafetensorsFile(path: path) }
        }
    }

    @Test("every truncation of a valid file is an error, never a crash")
    func truncations() throws {
        let path = Self.temporaryPath("full.safetensors")
        defer { try? FileManager.default.removeItem(atPath: path) }
        var writer = SafetensorsWriter(metadata: ["k": "v"])
        try writer.add(name: "w", shape: [3, 2], floats: [1, 2, 3, 4, 5, 6])
        try writer.add(name: "b", shape: [2], floats: [7, 8])
        try writer.write(to: path)
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        for length in 0..<bytes.count {
            let truncated = Self.write(Array(bytes.prefix(length)))
            defer { try? FileManager.default.removeItem(atPath: truncated) }
            #expect(throws: FormatError.self, "truncated to \(length) bytes") { try SafetensorsFile(path: truncated) }
        }
        // Random single-byte corruptions of the header either fail cleanly or still parse consistently.
        var generator = UInt64(12345)
        for _ in 0..<300 {
            generator = generator &* 6364136223846793005 &+ 1442695040888963407
            var corrupted = bytes
            let position = Int(generator >> 33) % min(bytes.count, 120)
            corrupted[position] ^= UInt8(truncatingIfNeeded: generator >> 20) | 1
            let corruptedPath = Self.write(corrupted)
            defer { try? FileManager.default.removeItem(atPath: corruptedPath) }
            if let file = try? SafetensorsFile(path: corruptedPath) {
                for tensor in file.tensors where [.f32, .f16, .bf16, .f64].contains(tensor.dtype) {
                    _ = try? file.floats(tensor.name)
                }
            }
        }
    }

    @Test func byteReaderBounds() throws {
        let bytes: [UInt8] = [1, 0, 0, 0, 0xFF]
        try bytes.withUnsafeBytes { (raw: UnsafeRawBufferPointer) throws -> Void in
            var reader = ByteReader(raw, context: "test")
            #expect(try reader.readUInt32() == 1)
            #expect(reader.remaining == 1)
            #expect(throws: FormatError.truncated(what: "test: u16", offset: 4, needed: 2, available: 1)) {
                try reader.readUInt16()
            }
            #expect(try reader.readInt8() == -1)
            #expect(throws: FormatError.self) { try reader.readBytes(1) }
            #expect(throws: FormatError.self) { try reader.seek(to: 6) }
        }
    }

    @Test func atomicWriteReplacesWholeFiles() throws {
        let path = Self.temporaryPath("atomic.txt")
        defer { try? FileManager.default.removeItem(atPath: path) }
        try AtomicFile.write(Data("first".utf8), to: path)
        try AtomicFile.write(Data("second".utf8), to: path)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "second")
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.contains("atomic.txt.tmp") }
        #expect(leftovers.isEmpty)
        #expect(throws: FormatError.self) { try AtomicFile.write(Data("x".utf8), to: "/nonexistent-dir/file") }
    }
}
