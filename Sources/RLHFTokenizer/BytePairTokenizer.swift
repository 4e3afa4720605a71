import Foundation

/// Errors building a tokenizer from files or metadata.
public struct TokenizerError: Error, CustomStringConvertible, Equatable {
    public let reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { "tokenizer: \(reason)" }
}

/// Byte-level BPE (GPT-2 style: SmolLM2, Qwen, Llama 3), built from GGUF metadata or a Hugging Face
/// `tokenizer.json`, reproducing their ids exactly.
///
/// Encoding: special tokens (e.g. `<|im_start|>`) are matched whole first; the rest is split by the
/// ``PreTokenizer``; each piece's UTF-8 bytes become byte-level symbols, which are merged pair by
/// pair in merge-rank order. Decoding maps symbols back to bytes and decodes UTF-8 once at the end.
public final class BytePairTokenizer: Tokenizer, @unchecked Sendable {
    public let vocabularySize: Int
    public let beginningOfSequenceTokenId: Int?
    public let endOfSequenceTokenId: Int?
    public let paddingTokenId: Int?
    /// Stands for bytes the vocabulary has no symbol for (dropped when nil).
    public let unknownTokenId: Int?
    public let preTokenizer: PreTokenizer
    /// Token strings by id (byte-level encoded, e.g. "Ġthe").
    public let tokens: [String]
    /// Special tokens matched whole in input text: content → id.
    public let specialTokens: [String: Int]

    /// Rank of merging (left id, right id) and the id it produces.
    private let merges: [UInt64: (rank: Int32, result: Int32)]
    /// Token id of each single byte's symbol.
    private let byteTokens: [Int32]
    /// Bytes of each token (nil for special tokens, which decode to their text).
    private let tokenBytes: [[UInt8]?]
    private let specialIds: Set<Int>
    private let specialByteStrings: [(bytes: [UInt8], id: Int)]
    private let specialFirstBytes: Set<UInt8>
    private let cache = PieceCache()

    /// Builds a tokenizer from its parts (as GGUF metadata lists them).
    /// - Parameters:
    ///   - tokens: byte-level token strings indexed by id.
    ///   - merges: merge pairs in priority order (first = applied first).
    ///   - specialTokens: content → id of tokens matched whole in input.
    public init(
        tokens: [String], merges: [(String, String)], specialTokens: [String: Int], preTokenizer: PreTokenizer,
        beginningOfSequenceTokenId: Int?, endOfSequenceTokenId: Int?, paddingTokenId: Int?, unknownTokenId: Int? = nil
    ) throws {
        self.unknownTokenId = unknownTokenId
        self.tokens = tokens
        vocabularySize = tokens.count
        self.preTokenizer = preTokenizer
        self.specialTokens = specialTokens
        self.beginningOfSequenceTokenId = beginningOfSequenceTokenId
        self.endOfSequenceTokenId = endOfSequenceTokenId
        self.paddingTokenId = paddingTokenId
        var idByToken = [String: Int32](minimumCapacity: tokens.count)
        for (id, token) in tokens.enumerated() where idByToken[token] == nil { idByToken[token] = Int32(id) }
        // Some vocabularies lack a few raw-byte symbols; such bytes become `unknownTokenId` (or are dropped).
        var byteTokens = [Int32](repeating: -1, count: 256)
        for byte in 0..<256 { byteTokens[byte] = idByToken[String(ByteLevel.scalar(for: UInt8(byte)))] ?? -1 }
        guard byteTokens.contains(where: { $0 >= 0 }) else { throw TokenizerError("the vocabulary has no byte-level symbols") }
        self.byteTokens = byteTokens
        var mergeTable = [UInt64: (rank: Int32, result: Int32)](minimumCapacity: merges.count)
        for (rank, (left, right)) in merges.enumerated() {
            guard let l = idByToken[left], let r = idByToken[right], let result = idByToken[left + right] else {
                throw TokenizerError("merge #\(rank) '\(left) \(right)' refers to tokens that are not in the vocabulary")
            }
            let key = UInt64(UInt32(l)) << 32 | UInt64(UInt32(r))
            if mergeTable[key] == nil { mergeTable[key] = (Int32(rank), result) }
        }
        self.merges = mergeTable
        specialIds = Set(specialTokens.values)
        tokenBytes = tokens.enumerated().map { id, token in
            specialTokens[token] == id ? nil : ByteLevel.bytes(of: token)
        }
        specialByteStrings = specialTokens.map { (Array($0.key.utf8), $0.value) }
            .filter { !$0.0.isEmpty }
            .sorted { $0.0.count > $1.0.count }
        specialFirstBytes = Set(specialByteStrings.compactMap(\.bytes.first))
    }

    // MARK: - Encoding

    public func encode(_ text: String) -> [Int] {
        var output = [Int]()
        output.reserveCapacity(text.utf8.count / 3)
        let utf8 = Array(text.utf8)
        var position = 0
        var segmentBytes = 0
        // Find special tokens on the UTF-8 bytes; encode the text between them.
        func flush(upTo end: Int) {
            guard end > segmentBytes else { return }
            let segment = String(decoding: utf8[segmentBytes..<end], as: UTF8.self)
            encodeOrdinary(segment, into: &output)
        }
        while position < utf8.count {
            if specialFirstBytes.contains(utf8[position]) {
                if let match = specialByteStrings.first(where: { candidate in
                    candidate.bytes.count <= utf8.count - position
                        && utf8[position..<(position + candidate.bytes.count)].elementsEqual(candidate.bytes)
                }) {
                    flush(upTo: position)
                    output.append(match.id)
                    position += match.bytes.count
                    segmentBytes = position
                    continue
                }
            }
            position += 1
        }
        flush(upTo: utf8.count)
        return output
    }

    /// Pre-tokenizes and BPE-encodes text that contains no special tokens.
    private func encodeOrdinary(_ text: String, into output: inout [Int]) {
        let scalars = Array(text.unicodeScalars)
        var pieceScalars = String.UnicodeScalarView()
        for range in preTokenizer.split(scalars) {
            pieceScalars.removeAll(keepingCapacity: true)
            pieceScalars.append(contentsOf: scalars[range])
            let piece = String(pieceScalars)
            if let cached = cache.lookup(piece) {
                output.append(contentsOf: cached)
                continue
            }
            let ids = mergePiece(Array(piece.utf8))
            cache.store(piece, ids)
            output.append(contentsOf: ids)
        }
    }

    /// BPE on one piece: start from byte symbols, repeatedly merge the adjacent pair of lowest rank.
    private func mergePiece(_ bytes: [UInt8]) -> [Int] {
        var symbols = bytes.map { byteTokens[Int($0)] }
        while symbols.count > 1 {  // unknown bytes (-1) never merge: no merge key contains -1
            var bestRank = Int32.max, bestIndex = -1, bestResult: Int32 = 0
            for i in 0..<(symbols.count - 1) {
                let key = UInt64(UInt32(symbols[i])) << 32 | UInt64(UInt32(symbols[i + 1]))
                if let merge = merges[key], merge.rank < bestRank {
                    bestRank = merge.rank
                    bestIndex = i
                    bestResult = merge.result
                }
            }
            guard bestIndex >= 0 else { break }
            symbols[bestIndex] = bestResult
            symbols.remove(at: bestIndex + 1)
        }
        return symbols.compactMap { $0 >= 0 ? Int($0) : unknownTokenId }
    }

    // MARK: - Decoding

    public func decode(_ tokens: [Int], skipSpecialTokens: Bool) -> String {
        var bytes = [UInt8]()
        for token in tokens { append(token, to: &bytes, skipSpecialTokens: skipSpecialTokens) }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Appends the bytes of `token` (its text for special tokens unless skipped).
    func append(_ token: Int, to bytes: inout [UInt8], skipSpecialTokens: Bool) {
        guard token >= 0 && token < tokenBytes.count else { return }
        if let tokenBytes = tokenBytes[token] {
            bytes.append(contentsOf: tokenBytes)
        } else if !skipSpecialTokens {
            bytes.append(contentsOf: Array(tokens[token].utf8))
        }
    }

    /// Whether `token` is a special (control) token.
    public func isSpecial(_ token: Int) -> Bool { specialIds.contains(token) }

    /// The id of a token string, if it is in the vocabulary.
    public func id(of token: String) -> Int? { tokens.firstIndex(of: token) }
}

/// Decodes a stream of tokens into text, emitting only complete UTF-8 characters (a character
/// split across tokens appears once its last byte arrives).
public struct StreamingDecoder {
    let tokenizer: BytePairTokenizer
    let skipSpecialTokens: Bool
    var pending: [UInt8] = []

    public init(tokenizer: BytePairTokenizer, skipSpecialTokens: Bool = true) {
        self.tokenizer = tokenizer
        self.skipSpecialTokens = skipSpecialTokens
    }

    /// The text that `token` completes (possibly empty).
    public mutating func append(_ token: Int) -> String {
        tokenizer.append(token, to: &pending, skipSpecialTokens: skipSpecialTokens)
        // Emit everything up to the last complete UTF-8 sequence.
        var end = pending.count
        var back = 0
        while back < 4 && end - back - 1 >= 0 {
            let byte = pending[end - back - 1]
            if byte & 0xC0 == 0x80 { back += 1; continue }  // continuation byte
            let length = byte < 0x80 ? 1 : byte >= 0xF0 ? 4 : byte >= 0xE0 ? 3 : byte >= 0xC0 ? 2 : 1
            if back + 1 < length { end -= back + 1 }
            break
        }
        let text = String(decoding: pending[..<end], as: UTF8.self)
        pending.removeFirst(end)
        return text
    }

    /// Whatever is still pending (an incomplete character decodes to U+FFFD).
    public mutating func finish() -> String {
        defer { pending.removeAll() }
        return String(decoding: pending, as: UTF8.self)
    }
}

/// The GPT-2 byte ↔ printable-character table (`bytes_to_unicode`): bytes 33–126, 161–172 and
/// 174–255 stand for themselves; the other 68 bytes map to U+0100 onwards in byte order.
enum ByteLevel {
    static let table: [Unicode.Scalar] = {
        var result = [Unicode.Scalar](repeating: " ", count: 256)
        var next: UInt32 = 256
        for byte in 0..<256 {
            if (33...126).contains(byte) || (161...172).contains(byte) || (174...255).contains(byte) {
                result[byte] = Unicode.Scalar(UInt32(byte))!
            } else {
                result[byte] = Unicode.Scalar(next)!
                next += 1
            }
        }
        return result
    }()

    static let inverse: [UInt32: UInt8] = {
        var map = [UInt32: UInt8]()
        for (byte, scalar) in table.enumerated() { map[scalar.value] = UInt8(byte) }
        return map
    }()

    static func scalar(for byte: UInt8) -> Unicode.Scalar { table[Int(byte)] }

    /// The bytes a byte-level token string stands for (characters outside the table are taken as
    /// their own UTF-8, as added tokens are).
    static func bytes(of token: String) -> [UInt8] {
        var result = [UInt8]()
        for scalar in token.unicodeScalars {
            if let byte = inverse[scalar.value] { result.append(byte) } else { result.append(contentsOf: Array(String(scalar).utf8)) }
        }
        return result
    }
}

/// A thread-safe cache of encoded pieces.
final class PieceCache: @unchecked Sendable {
    private var storage = [String: [Int]]()
    private let lock = NSLock()

    func lookup(_ piece: String) -> [Int]? {
        lock.lock()
        defer { lock.unlock() }
        return storage[piece]
    }

    func store(_ piece: String, _ ids: [Int]) {
        lock.lock()
        defer { lock.unlock() }
        if storage.count > 200_000 { storage.removeAll(keepingCapacity: true) }
        storage[piece] = ids
    }
}
