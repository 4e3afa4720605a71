import Foundation
import RLHFFormats
import Testing
import _RLHFTestSupport

@Suite("safetensors")
struct SafetensorsTests {
    /// A safetensors file built by hand: header JSON and raw data.
    static func handMade(header: String, data: [UInt8] = [], declaredLength: UInt64? = nil) -> [UInt8] {
        let json = Array(header.utf8)
        var bytes = withUnsafeBytes(of: (declaredLength ?? UInt64(json.count)).littleEndian) { Array($0) }
        bytes += json + data
        return bytes
    }

    /// The error opening `bytes` as a safetensors file throws (nil if it opens).
    static func openingError(_ bytes: [UInt8], in directory: TemporaryDirectory) throws -> FormatError? {
        let path = try directory.write(bytes, to: "case-\(UUID().uuidString).safetensors")
        defer { try? FileManager.default.removeItem(atPath: path) }
        do {
            _ = try SafetensorsFile(path: path)
            return nil
        } catch let error as FormatError {
            return error
        }
    }

    // MARK: Round trips

    @Test func roundTrip() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("round.safetensors")
        var writer = SafetensorsWriter(metadata: ["format": "pt", "note": "quote \" and \\ and\nnewline, \u{1}, é, 🙂"])
        try writer.add(name: "a.weight", shape: [2, 3], floats: [1, 2, 3, 4, 5, 6])
        try writer.add(name: "empty", shape: [0, 4], floats: [])
        try writer.add(name: "scalar", shape: [], floats: [7.5])
        try writer.add(name: "odd", shape: [3], floats: [-0.0, .infinity, .leastNonzeroMagnitude])
        try writer.add(name: "ids", shape: [3], int64s: [-1, 0, 1 << 40])
        try writer.add(name: "weird \"name\"/é", shape: [1, 1], floats: [42])
        #expect(writer.count == 6)
        try writer.write(to: path)

        let file = try SafetensorsFile(path: path)
        #expect(file.path == path)
        #expect(file.metadata == ["format": "pt", "note": "quote \" and \\ and\nnewline, \u{1}, é, 🙂"])
        #expect(try file.floats("a.weight") == [1, 2, 3, 4, 5, 6])
        #expect(file.info("a.weight")?.shape == [2, 3])
        #expect(file.info("a.weight")?.dtype == .f32)
        #expect(file.info("a.weight")?.elementCount == 6)
        #expect(try file.floats("empty").isEmpty)
        #expect(file.info("empty")?.shape == [0, 4])
        #expect(file.info("empty")?.elementCount == 0)
        #expect(try file.floats("scalar") == [7.5])
        #expect(file.info("scalar")?.shape == [])
        #expect(file.info("scalar")?.elementCount == 1)
        let odd = try file.floats("odd")
        #expect(odd.map(\.bitPattern) == [Float(-0.0), .infinity, .leastNonzeroMagnitude].map(\.bitPattern))
        #expect(try file.integers("ids") == [-1, 0, 1 << 40])
        #expect(try file.floats("weird \"name\"/é") == [42])
        #expect(file.tensors.count == 6)
        #expect(file.info("nope") == nil)

        // Sorted by offset; the data section starts on an 8-byte boundary and every tensor on a
        // multiple of its element size; the data is contiguous to the end of the file.
        let bytes = try readBytes(path)
        let headerLength = bytes.prefix(8).reversed().reduce(0) { $0 << 8 | Int($1) }
        #expect((8 + headerLength) % 8 == 0)
        #expect(file.tensors.map(\.byteRange.lowerBound) == file.tensors.map(\.byteRange.lowerBound).sorted())
        var end = 8 + headerLength
        for tensor in file.tensors {
            #expect(tensor.byteRange.lowerBound == end, "\(tensor.name) is not contiguous")
            #expect((tensor.byteRange.lowerBound - 8 - headerLength) % tensor.dtype.byteSize == 0, "\(tensor.name) is misaligned")
            end = tensor.byteRange.upperBound
        }
        #expect(end == bytes.count)
        // The padding is spaces, as the reference implementation writes.
        #expect(bytes[8 + headerLength - 1] == 0x20 || bytes[8 + headerLength - 1] == 0x7D)
    }

    @Test("every dtype round-trips through raw bytes")
    func allDTypes() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("dtypes.safetensors")
        func bytes<T>(_ values: [T]) -> [UInt8] { values.withUnsafeBytes { Array($0) } }
        var writer = SafetensorsWriter()
        let add = { (writer: inout SafetensorsWriter, name: String, dtype: SafetensorsDType, data: [UInt8], shape: [Int]) in
            try data.withUnsafeBytes { try writer.add(name: name, shape: shape, dtype: dtype, bytes: $0) }
        }
        try add(&writer, "f64", .f64, bytes([1.5, -2.25, 1e300] as [Double]), [3])
        try add(&writer, "f16", .f16, bytes([0x3C00, 0xC000, 0x7BFF] as [UInt16]), [3])
        try add(&writer, "bf16", .bf16, bytes([0x3F80, 0x3F00, 0xFF80] as [UInt16]), [1, 3])
        try add(&writer, "i32", .i32, bytes([1, -5, Int32.max] as [Int32]), [3])
        try add(&writer, "i16", .i16, bytes([-300, 300] as [Int16]), [2])
        try add(&writer, "i8", .i8, bytes([-128, 127, 0] as [Int8]), [3])
        try add(&writer, "u8", .u8, [0, 255], [2])
        try add(&writer, "bool", .bool, [1, 0, 1], [3])
        try writer.write(to: path)

        let file = try SafetensorsFile(path: path)
        #expect(try file.floats("f64") == [1.5, -2.25, .infinity])
        #expect(try file.floats("f16") == [1, -2, 65504])
        #expect(try file.floats("bf16") == [1, 0.5, -.infinity])
        #expect(try file.integers("i32") == [1, -5, Int(Int32.max)])
        #expect(try file.integers("i16") == [-300, 300])
        #expect(try file.integers("i8") == [-128, 127, 0])
        #expect(try file.integers("u8") == [0, 255])
        #expect(try file.integers("bool") == [1, 0, 1])
        for tensor in file.tensors {
            #expect((tensor.byteRange.lowerBound - file.tensors[0].byteRange.lowerBound) % tensor.dtype.byteSize == 0)
        }
        #expect(throws: FormatError.unsupportedDType(name: "i32", dtype: "I32 (expected a floating-point tensor)")) {
            try file.floats("i32")
        }
        #expect(throws: FormatError.unsupportedDType(name: "f16", dtype: "F16 (expected an integer tensor)")) {
            try file.integers("f16")
        }
        var three = [Float](repeating: 0, count: 3)
        try three.withUnsafeMutableBufferPointer { try file.readFloats("bf16", into: $0) }
        #expect(three == [1, 0.5, -.infinity])
        var two = [Float](repeating: 0, count: 2)
        #expect(throws: FormatError.shapeMismatch(name: "bf16", expected: [2], actual: [1, 3])) {
            try two.withUnsafeMutableBufferPointer { try file.readFloats("bf16", into: $0) }
        }
        #expect(throws: FormatError.missingTensor(name: "nope")) { try file.integers("nope") }
    }

    @Test func writerRejectsBadInput() throws {
        var writer = SafetensorsWriter()
        #expect(throws: FormatError.shapeMismatch(name: "x", expected: [2, 2], actual: [3])) {
            try writer.add(name: "x", shape: [2, 2], floats: [1, 2, 3])
        }
        #expect(throws: Never.self) { try writer.add(name: "y", shape: [1], floats: [1]) }
        #expect(throws: FormatError.duplicateTensor(name: "y")) { try writer.add(name: "y", shape: [1], floats: [1]) }
        #expect(throws: FormatError.duplicateTensor(name: "y")) { try writer.add(name: "y", shape: [1], int64s: [1]) }
        #expect(throws: FormatError.self) { try writer.add(name: "neg", shape: [-1, -1], floats: [1]) }
        #expect(throws: FormatError.self) { try writer.add(name: "big", shape: [Int.max, 4], floats: [1]) }
        #expect(throws: FormatError.self) { try writer.add(name: "__metadata__", shape: [1], floats: [1]) }
        #expect(throws: FormatError.self) {
            try [UInt8](repeating: 0, count: 3).withUnsafeBytes { try writer.add(name: "h", shape: [1], dtype: .f16, bytes: $0) }
        }
        #expect(writer.count == 1)  // failed adds leave nothing behind
        #expect(throws: FormatError.self) { try writer.write(to: "/nonexistent-dir/x.safetensors") }
    }

    // MARK: Files written by Hugging Face

    struct ReferenceDescription: Decodable {
        let input_ids: [[Int]]
    }

    @Test func readsHuggingFaceFiles() throws {
        let modelPath = ReferencePaths.tinyLlama + "/model.safetensors"
        let model = try SafetensorsFile(path: modelPath)
        #expect(model.info("model.embed_tokens.weight")?.shape == [64, 32])
        #expect(model.info("model.layers.1.self_attn.k_proj.weight")?.dtype == .f32)
        #expect(model.tensors.allSatisfy { $0.dtype == .f32 })
        // Hugging Face writes the tensors back to back to the end of the file.
        let size = try readBytes(modelPath).count
        #expect(model.tensors.last?.byteRange.upperBound == size)
        for (previous, next) in zip(model.tensors, model.tensors.dropFirst()) {
            #expect(previous.byteRange.upperBound == next.byteRange.lowerBound)
        }
        let embedding = try model.floats("model.embed_tokens.weight")
        #expect(embedding.count == 64 * 32)
        #expect(embedding.allSatisfy { $0.isFinite })
        #expect(embedding.contains { $0 != 0 })

        let reference = try SafetensorsFile(path: ReferencePaths.tinyLlama + "/reference-safetensors.safetensors")
        #expect(reference.info("input_ids")?.dtype == .i32)
        #expect(reference.info("input_ids")?.shape == [2, 12])
        let ids = try reference.integers("input_ids")
        #expect(Array(ids.prefix(4)) == [1, 5, 9, 33])
        let description = try JSONDecoder().decode(
            ReferenceDescription.self, from: Data(contentsOf: URL(fileURLWithPath: ReferencePaths.tinyLlama + "/reference.json")))
        #expect(ids == description.input_ids.flatMap { $0 })
        let logits = try #require(reference.info("logits"))
        #expect(logits.shape == [2, 12, 64])
        #expect(logits.dtype == .f32)
        let values = try reference.floats("logits")
        #expect(values.count == 2 * 12 * 64)
        #expect(values.allSatisfy { $0.isFinite })
        var buffer = [Float](repeating: .nan, count: values.count)
        try buffer.withUnsafeMutableBufferPointer { try reference.readFloats("logits", into: $0) }
        #expect(buffer == values)
        #expect(throws: FormatError.unsupportedDType(name: "input_ids", dtype: "I32 (expected a floating-point tensor)")) {
            try reference.floats("input_ids")
        }
        #expect(throws: FormatError.missingTensor(name: "nope")) { try reference.floats("nope") }
    }

    @Test("a Hugging Face file rewritten by SafetensorsWriter reads back bit for bit")
    func rewriteHuggingFaceFile() throws {
        let original = try SafetensorsFile(path: ReferencePaths.tinyLlama + "/reference-safetensors.safetensors")
        let directory = try TemporaryDirectory()
        var writer = SafetensorsWriter(metadata: original.metadata)
        for tensor in original.tensors {
            if tensor.dtype == .f32 {
                try writer.add(name: tensor.name, shape: tensor.shape, floats: try original.floats(tensor.name))
            } else {
                try writer.add(name: tensor.name, shape: tensor.shape, int64s: try original.integers(tensor.name).map(Int64.init))
            }
        }
        let path = directory.file("copy.safetensors")
        try writer.write(to: path)
        let copy = try SafetensorsFile(path: path)
        #expect(copy.metadata == original.metadata)
        #expect(Set(copy.tensors.map(\.name)) == Set(original.tensors.map(\.name)))
        for tensor in original.tensors {
            #expect(copy.info(tensor.name)?.shape == tensor.shape)
            if tensor.dtype == .f32 {
                #expect(try copy.floats(tensor.name).map(\.bitPattern) == original.floats(tensor.name).map(\.bitPattern))
            } else {
                #expect(try copy.integers(tensor.name) == original.integers(tensor.name))
            }
        }
    }

    // MARK: Lenient where harmless

    @Test func acceptsValidVariations() throws {
        let directory = try TemporaryDirectory()
        // Whitespace, unknown fields (skipped, even nested), null metadata, escaped names, a gap.
        let header = #"""
             { "__metadata__" : null ,
               "a\u00e9\"b" : { "shape" : [ 1 ] , "extra" : {"x": [1, -2.5e3, true, false, null, "s"]}, "dtype" : "F32", "data_offsets" : [ 0 , 4 ] },
               "c" : {"dtype":"U8","shape":[2],"data_offsets":[8,10]} }   
            """#
        let data: [UInt8] = [0, 0, 0x80, 0x3F, 0xEE, 0xEE, 0xEE, 0xEE, 7, 9]
        let path = try directory.write(Self.handMade(header: header, data: data))
        let file = try SafetensorsFile(path: path)
        #expect(file.metadata.isEmpty)
        #expect(try file.floats("aé\"b") == [1])
        #expect(try file.integers("c") == [7, 9])
        #expect(file.tensors.map(\.name) == ["aé\"b", "c"])

        // An empty header and no tensors.
        let empty = try SafetensorsFile(path: try directory.write(Self.handMade(header: "{}"), to: "empty.safetensors"))
        #expect(empty.tensors.isEmpty)
        // Several zero-size tensors at the same offset, inside another tensor's range, do not overlap.
        let zeros = #"{"z1":{"dtype":"F32","shape":[0],"data_offsets":[4,4]},"z2":{"dtype":"I64","shape":[2,0],"data_offsets":[4,4]},"#
            + #""w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#
        let zeroFile = try SafetensorsFile(
            path: try directory.write(Self.handMade(header: zeros, data: Array(repeating: 0, count: 8)), to: "zeros.safetensors"))
        #expect(zeroFile.tensors.map(\.name) == ["w", "z1", "z2"])
        #expect(try zeroFile.integers("z2").isEmpty)
    }

    // MARK: Hostile input

    @Test("hostile files give the right typed error, naming the file or tensor")
    func malformedFiles() throws {
        let directory = try TemporaryDirectory()
        let f32a = #""a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}"#
        let four: [UInt8] = [0, 0, 0, 0]
        enum Expected {
            case invalidHeader, invalidTensor(String), truncated, unsupported(String, String), duplicate(String)
        }
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        let cases: [(String, [UInt8], Expected)] = [
            ("empty file", [], .truncated),
            ("seven bytes", [1, 0, 0, 0, 0, 0, 0], .truncated),
            ("huge header length", Self.handMade(header: "{}", declaredLength: 1 << 60), .invalidHeader),
            ("header length past the end", Self.handMade(header: "{}", declaredLength: 3), .invalidHeader),
            ("length just over the cap", Self.handMade(header: "{}", declaredLength: 100_000_001), .invalidHeader),
            ("invalid JSON", Self.handMade(header: #"{"a":{"dtype":"F32","shape":[1"#), .invalidHeader),
            ("not an object", Self.handMade(header: "[1, 2]"), .invalidHeader),
            ("trailing garbage", Self.handMade(header: "{} x"), .invalidHeader),
            ("two objects", Self.handMade(header: "{}{}"), .invalidHeader),
            ("trailing comma", Self.handMade(header: "{\(f32a),}", data: four), .invalidHeader),
            ("single quotes", Self.handMade(header: "{'a':1}"), .invalidHeader),
            ("unknown dtype", Self.handMade(header: #"{"a":{"dtype":"F8","shape":[1],"data_offsets":[0,1]}}"#, data: [0]),
             .unsupported("a", "F8")),
            ("dtype not a string", Self.handMade(header: #"{"a":{"dtype":4,"shape":[1],"data_offsets":[0,4]}}"#, data: four),
             .invalidTensor("a")),
            ("past the end", Self.handMade(header: #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#, data: four),
             .invalidTensor("a")),
            ("size mismatch", Self.handMade(header: #"{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#,
                                            data: Array(repeating: 0, count: 12)), .invalidTensor("a")),
            ("overlap", Self.handMade(
                header: #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#,
                data: Array(repeating: 0, count: 12)), .invalidTensor("b")),
            ("overlap behind an empty tensor", Self.handMade(
                header: #"{"a":{"dtype":"U8","shape":[10],"data_offsets":[0,10]},"e":{"dtype":"U8","shape":[0],"data_offsets":[5,5]},"#
                    + #""c":{"dtype":"U8","shape":[2],"data_offsets":[6,8]}}"#,
                data: Array(repeating: 0, count: 10)), .invalidTensor("c")),
            ("one range inside another", Self.handMade(
                header: #"{"a":{"dtype":"U8","shape":[10],"data_offsets":[0,10]},"b":{"dtype":"U8","shape":[2],"data_offsets":[2,4]},"#
                    + #""c":{"dtype":"U8","shape":[2],"data_offsets":[6,8]}}"#,
                data: Array(repeating: 0, count: 10)), .invalidTensor("b")),
            ("duplicate names", Self.handMade(header: "{\(f32a),\(f32a)}", data: four), .duplicate("a")),
            ("duplicate names, one escaped", Self.handMade(
                header: #"{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"\u0061":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}"#,
                data: [0, 0]), .duplicate("a")),
            ("duplicate metadata", Self.handMade(header: #"{"__metadata__":{},"__metadata__":{}}"#), .invalidHeader),
            ("duplicate metadata key", Self.handMade(header: #"{"__metadata__":{"k":"1","k":"2"}}"#), .invalidHeader),
            ("metadata value not a string", Self.handMade(header: #"{"__metadata__":{"k":1}}"#), .invalidHeader),
            ("metadata not an object", Self.handMade(header: #"{"__metadata__":[]}"#), .invalidHeader),
            ("duplicate field", Self.handMade(
                header: #"{"a":{"dtype":"F32","dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#, data: four), .invalidTensor("a")),
            ("missing field", Self.handMade(header: #"{"a":{"dtype":"F32","shape":[1]}}"#, data: four), .invalidTensor("a")),
            ("entry not an object", Self.handMade(header: #"{"a":[1]}"#, data: four), .invalidTensor("a")),
            ("negative dimension", Self.handMade(header: #"{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}"#, data: four),
             .invalidTensor("a")),
            ("overflowing shape", Self.handMade(
                header: #"{"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]}}"#, data: four), .invalidTensor("a")),
            ("overflowing byte count", Self.handMade(
                header: #"{"a":{"dtype":"F64","shape":[4611686018427387904],"data_offsets":[0,4]}}"#, data: four), .invalidTensor("a")),
            ("too many dimensions", Self.handMade(
                header: #"{"a":{"dtype":"F32","shape":["# + Array(repeating: "1", count: 65).joined(separator: ",")
                    + #"],"data_offsets":[0,4]}}"#, data: four), .invalidTensor("a")),
            ("shape not an array", Self.handMade(header: #"{"a":{"dtype":"F32","shape":1,"data_offsets":[0,4]}}"#, data: four),
             .invalidTensor("a")),
            ("fractional dimension", Self.handMade(header: #"{"a":{"dtype":"F32","shape":[1.0],"data_offsets":[0,4]}}"#, data: four),
             .invalidHeader),
            ("exponent offset", Self.handMade(header: #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4e0]}}"#, data: four),
             .invalidHeader),
            ("offset beyond 64 bits", Self.handMade(
                header: #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,99999999999999999999]}}"#, data: four), .invalidHeader),
            ("leading zero", Self.handMade(header: #"{"a":{"dtype":"F32","shape":[01],"data_offsets":[0,4]}}"#, data: four),
             .invalidHeader),
            ("reversed offsets", Self.handMade(header: #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}}"#, data: four),
             .invalidTensor("a")),
            ("negative offsets", Self.handMade(header: #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}}"#, data: four),
             .invalidTensor("a")),
            ("three offsets", Self.handMade(header: #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4,8]}}"#, data: four),
             .invalidTensor("a")),
            ("one offset", Self.handMade(header: #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[4]}}"#, data: four),
             .invalidTensor("a")),
            ("deeply nested unknown field", Self.handMade(
                header: #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"x":"# + deep + "}}", data: four), .invalidHeader),
            ("invalid UTF-8 in a name", Self.handMade(header: "{\"\u{FF}\":{}}").map { $0 == 0xC3 ? 0xFF : $0 }, .invalidHeader),
            ("lone surrogate", Self.handMade(header: #"{"\ud800":{}}"#), .invalidHeader),
            ("control character in a string", Self.handMade(header: "{\"a\nb\":{}}"), .invalidHeader),
            ("bad escape", Self.handMade(header: #"{"a\x":{}}"#), .invalidHeader),
            ("unterminated string", Self.handMade(header: #"{"abc"#), .invalidHeader),
            ("bad literal", Self.handMade(header: #"{"__metadata__":nul}"#), .invalidHeader),
        ]
        for (label, bytes, expected) in cases {
            let error = try Self.openingError(bytes, in: directory)
            let comment = Comment(rawValue: "\(label): \(error.map { String(describing: $0) } ?? "no error")")
            switch (expected, error) {
            case (.invalidHeader, .invalidHeader?), (.truncated, .truncated?): break
            case let (.invalidTensor(name), .invalidTensor(actual, reason)?):
                #expect(actual == name, comment)
                #expect(reason.contains(directory.path), comment)  // names the file
                #expect(reason.contains("byte"), comment)  // and where
            case let (.unsupported(name, dtype), .unsupportedDType(actualName, actualDType)?):
                #expect(actualName == name && actualDType == dtype, comment)
            case let (.duplicate(name), .duplicateTensor(actual)?):
                #expect(actual == name, comment)
            default:
                Issue.record(comment)
            }
            if case .invalidHeader(let file, let reason)? = error {
                #expect(file.hasPrefix(directory.path), comment)
                #expect(reason.contains("byte"), comment)
            }
        }
    }

    @Test("error messages give the file, the tensor and the byte offset")
    func errorMessages() throws {
        let directory = try TemporaryDirectory()
        let path = try directory.write(Self.handMade(
            header: #"{"weights":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#, data: [0, 0, 0, 0]))
        let error = try #require(try Self.openingError(try readBytes(path), in: directory))
        let message = String(describing: error)
        #expect(message.contains("tensor 'weights'"), "\(message)")
        #expect(message.contains("run past the end"), "\(message)")
        #expect(message.contains("header entry at byte 9"), "\(message)")
        let json = try #require(try Self.openingError(Self.handMade(header: #"{"a" 1}"#), in: directory))
        #expect(String(describing: json).contains("JSON at byte 13: expected ':'"), "\(json)")
    }

    @Test("every truncation of a valid file is an error, never a crash")
    func truncations() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("full.safetensors")
        var writer = SafetensorsWriter(metadata: ["k": "v"])
        try writer.add(name: "w", shape: [3, 2], floats: [1, 2, 3, 4, 5, 6])
        try writer.add(name: "b", shape: [2], floats: [7, 8])
        try writer.add(name: "n", shape: [1], int64s: [9])
        try writer.write(to: path)
        let bytes = try readBytes(path)
        for length in 0..<bytes.count {
            let truncated = try directory.write(Array(bytes.prefix(length)), to: "truncated.safetensors")
            #expect(throws: FormatError.self, "truncated to \(length) bytes") { try SafetensorsFile(path: truncated) }
        }
        // Random byte corruptions anywhere either fail cleanly or still parse consistently.
        var generator = SeededLCG(state: 12345)
        for round in 0..<500 {
            var corrupted = bytes
            for _ in 0..<(1 + round % 3) {
                let position = Int(generator.next() % UInt64(round % 2 == 0 ? min(bytes.count, 130) : bytes.count))
                corrupted[position] ^= UInt8(truncatingIfNeeded: generator.next()) | 1
            }
            let corruptedPath = try directory.write(corrupted, to: "corrupted.safetensors")
            guard let file = try? SafetensorsFile(path: corruptedPath) else { continue }
            for tensor in file.tensors {
                #expect(tensor.byteRange.upperBound <= corrupted.count)
                if tensor.dtype.isFloatingPoint {
                    #expect(try file.floats(tensor.name).count == tensor.elementCount)
                } else {
                    #expect(try file.integers(tensor.name).count == tensor.elementCount)
                }
            }
        }
    }

    @Test func unreadablePaths() throws {
        let directory = try TemporaryDirectory()
        #expect(throws: FormatError.self) { try SafetensorsFile(path: directory.path) }
        #expect(throws: FormatError.self) { try SafetensorsFile(path: directory.file("missing.safetensors")) }
    }
}
