import Foundation
import RLHFData
import Testing

@Suite("JSONL reader")
struct JSONLReaderTests {
    @Test("blank lines are skipped but counted; BOM and CRLF are accepted")
    func lineNumbers() throws {
        let objects = try JSONLReader.read(path: TestData.fixture("prompts-bom-crlf.jsonl"))
        #expect(objects == [
            JSONLObject(line: 1, members: ["prompt": .string("BOM first line")]),
            JSONLObject(line: 3, members: ["prompt": .string("CRLF line")]),
        ])
        let text = "\n  \t\n{\"a\": 1}\n\n{\"b\": [true, null, -2.5e3, \"x\"]}"  // no final newline
        let parsed = try JSONLReader.parse(Data(text.utf8), file: "t.jsonl")
        #expect(parsed == [
            JSONLObject(line: 3, members: ["a": .number(1)]),
            JSONLObject(line: 5, members: ["b": .array([.bool(true), .null, .number(-2500), .string("x")])]),
        ])
    }

    @Test("strings: escapes, surrogate pairs, unicode; numbers; nesting; duplicate keys keep the last")
    func values() throws {
        let line = #"{"s": "a\"b\\c\/d\b\f\n\r\t\u00e9\ud83d\ude00 ü 中", "n": [0, -0.5, 1E2, 12e-1], "o": {"x": {}}, "e": [], "k": 1, "k": 2}"#
        let objects = try JSONLReader.parse(Data(line.utf8), file: "t.jsonl")
        let members = try #require(objects.first?.members)
        #expect(members["s"] == .string("a\"b\\c/d\u{08}\u{0C}\n\r\té😀 ü 中"))
        #expect(members["n"] == .array([.number(0), .number(-0.5), .number(100), .number(1.2)]))
        #expect(members["o"] == .object(["x": .object([:])]))
        #expect(members["e"] == .array([]))
        #expect(members["k"] == .number(2))
    }

    /// Reads `lines` (joined with newlines) and returns the error's description.
    func failure(_ lines: [String], file: String = "data.jsonl") -> String? {
        TestData.error { _ = try JSONLReader.parse(Data(lines.joined(separator: "\n").utf8), file: file) }?.description
    }

    func failure(bytes: [UInt8]) -> String? {
        TestData.error { _ = try JSONLReader.parse(Data(bytes), file: "data.jsonl") }?.description
    }

    @Test("every kind of malformed line has its own message, with file and line")
    func malformedLines() {
        let good = #"{"prompt": "ok"}"#
        let cases: [(String, String)] = [
            (#"{"prompt": "a",}"#, "data.jsonl:3: is not valid JSON (unexpected '}', expected an object key in double quotes at column 16)"),
            (#"{"prompt": "abc"#, "data.jsonl:3: is not valid JSON (unterminated string at column 12)"),
            (#"{"prompt": "a""#, "data.jsonl:3: is not valid JSON (unterminated object (opened at column 1) at column 15)"),
            (#"["a"]"#, "data.jsonl:3: is not a JSON object (found an array)"),
            (#""just a string""#, "data.jsonl:3: is not a JSON object (found a string)"),
            (#"{"a": 1} x"#, "data.jsonl:3: is not valid JSON (unexpected 'x' after the value at column 10)"),
            (#"{"a": 1}{"b": 2}"#, "data.jsonl:3: is not valid JSON (unexpected '{' after the value at column 9)"),
            (#"{"a" 1}"#, "data.jsonl:3: is not valid JSON (expected ':' after the key \"a\" at column 6)"),
            (#"{"a": 1 "b": 2}"#, "data.jsonl:3: is not valid JSON (unexpected '\"', expected ',' or '}' in an object at column 9)"),
            (#"{"a": [1 2]}"#, "data.jsonl:3: is not valid JSON (unexpected '2', expected ',' or ']' in an array at column 10)"),
            (#"{"a": [1, 2"#, "data.jsonl:3: is not valid JSON (unterminated array (opened at column 7) at column 12)"),
            (#"{a: 1}"#, "data.jsonl:3: is not valid JSON (unexpected 'a', expected an object key in double quotes at column 2)"),
            (#"{'a': 1}"#, "data.jsonl:3: is not valid JSON (unexpected ''', expected an object key in double quotes at column 2)"),
            (#"{"a": tru}"#, "data.jsonl:3: is not valid JSON (unexpected 't', expected a value at column 7)"),
            (#"{"a": NaN}"#, "data.jsonl:3: is not valid JSON (unexpected 'N', expected a value at column 7)"),
            (#"{"a": }"#, "data.jsonl:3: is not valid JSON (unexpected '}', expected a value at column 7)"),
            (#"{"a": 01}"#, "data.jsonl:3: is not valid JSON (invalid number: leading zero at column 7)"),
            (#"{"a": 1.}"#, "data.jsonl:3: is not valid JSON (invalid number: expected a digit after '.' at column 9)"),
            (#"{"a": 1e}"#, "data.jsonl:3: is not valid JSON (invalid number: expected a digit in the exponent at column 9)"),
            (#"{"a": -}"#, "data.jsonl:3: is not valid JSON (invalid number: expected a digit at column 8)"),
            (#"{"a": 1e999}"#, "data.jsonl:3: is not valid JSON (number 1e999 is out of range at column 7)"),
            (#"{"a": "\x"}"#, "data.jsonl:3: is not valid JSON (invalid escape '\\x' in a string at column 8)"),
            (#"{"a": "\u12"}"#, "data.jsonl:3: is not valid JSON (\\u escape needs four hex digits at column 8)"),
            (#"{"a": "\ud83d"}"#, "data.jsonl:3: is not valid JSON (lone UTF-16 surrogate \\uD83D in a string (not valid Unicode) at column 8)"),
            (#"{"a": "\ude00x"}"#, "data.jsonl:3: is not valid JSON (lone UTF-16 surrogate \\uDE00 in a string (not valid Unicode) at column 8)"),
            ("{\"a\": \"tab\there\"}", "data.jsonl:3: is not valid JSON (unescaped control character 0x09 in a string at column 11)"),
            (String(repeating: "[", count: 600), "data.jsonl:3: is not valid JSON (nested deeper than 512 levels at column 513)"),
        ]
        for (line, expected) in cases {
            #expect(failure([good, "", line, good]) == expected, "\(line)")
        }
        let deep = "{\"a\": " + String(repeating: "[", count: 600) + String(repeating: "]", count: 600) + "}"
        #expect(failure([deep]) == "data.jsonl:1: is not valid JSON (nested deeper than 512 levels at column 518)")
        #expect(failure(bytes: Array(#"{"a": "caf"#.utf8) + [0xE9] + Array(#""}"#.utf8))
            == "data.jsonl:1: is not valid JSON (invalid UTF-8 in the string at column 7)")
        #expect(failure(bytes: Array(#"{"a": 1}"#.utf8) + [0x0A, 0xFF])
            == "data.jsonl:2: is not valid JSON (unexpected byte 0xFF, expected a value at column 1)")
    }

    @Test("strings must be well-formed UTF-8")
    func utf8() throws {
        func line(_ bytes: [UInt8], escaped: Bool = false) -> [UInt8] {
            Array(#"{"a": "x"#.utf8) + (escaped ? Array(#"\n"#.utf8) : []) + bytes + Array(#""}"#.utf8)
        }
        let valid: [[UInt8]] = [[0xC3, 0xA9], [0xE2, 0x82, 0xAC], [0xF0, 0x9F, 0x98, 0x80], [0xF4, 0x8F, 0xBF, 0xBF], [0xED, 0x9F, 0xBF]]
        for bytes in valid {
            for escaped in [false, true] {
                let objects = try JSONLReader.parse(Data(line(bytes, escaped: escaped)), file: "u.jsonl")
                #expect(objects.first?.members["a"] == .string("x" + (escaped ? "\n" : "") + String(decoding: bytes, as: UTF8.self)))
            }
        }
        let invalid: [[UInt8]] = [
            [0x80], [0xC0, 0x80], [0xC1, 0xBF], [0xE0, 0x80, 0x80], [0xED, 0xA0, 0x80], [0xE2, 0x82],
            [0xF0, 0x80, 0x80, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xF5, 0x80, 0x80, 0x80], [0xF0, 0x9F, 0x98], [0xFF],
        ]
        for bytes in invalid {
            for escaped in [false, true] {
                #expect(failure(bytes: line(bytes, escaped: escaped)) == "data.jsonl:1: is not valid JSON (invalid UTF-8 in the string at column 7)", "\(bytes)")
            }
        }
    }

    @Test("whole-file problems: empty, only blank lines, missing")
    func fileProblems() {
        #expect(failure([]) == "data.jsonl: the file is empty")
        #expect(failure(["", "  ", "\r"]) == "data.jsonl: the file has only blank lines")
        let missing = TestData.error { _ = try JSONLReader.read(path: "/nonexistent/data.jsonl") }
        #expect(missing == DatasetError(file: "/nonexistent/data.jsonl", line: nil, reason: "no such file"))
        #expect(missing?.description == "/nonexistent/data.jsonl: no such file")
    }

    @Test("the earliest malformed line is reported when lines are parsed in parallel")
    func earliestError() {
        var lines = [String](repeating: #"{"prompt": "fine"}"#, count: 5000)
        lines[4321] = "{oops"
        lines[1234] = "[1]"
        #expect(failure(lines, file: "big.jsonl") == "big.jsonl:1235: is not a JSON object (found an array)")
    }
}
