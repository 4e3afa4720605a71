/// Errors building a tokenizer from files or metadata.
public struct TokenizerError: Error, CustomStringConvertible, Equatable {
    public let reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { "tokenizer: \(reason)" }
}

/// Byte-level BPE (GPT-2 style: SmolLM2, Qwen, Llama 3), built from GGUF metadata or a Hugging Face
/// `tokenizer.json`, reproducing their ids exactly.
///
/// Encoding: special tokens (e.g. `<|im_start|>`) are matched whole first (leftmost, longest);
/// the rest is split by the ``PreTokenizer``; each piece's UTF-8 bytes become byte-level symbols,
/// which are merged pair by pair, lowest merge rank first (leftmost among equal ranks). Decoding
/// maps symbols back to bytes and decodes UTF-8 once at the end.
///
/// Immutable and `Sendable`: one instance can encode on several threads at once (each `encode`
/// call keeps its own piece cache).
public final class BytePairTokenizer: Tokenizer, Sendable {
    public let vocabularySize: Int
    public let beginningOfSequenceTokenId: Int?
    public let endOfSequenceTokenId: Int?
    public let paddingTokenId: Int?
    /// Stands for bytes the vocabulary has no symbol for (dropped when nil).
    public let unknownTokenId: Int?
    public let preTokenizer: PreTokenizer
    /// Whether a piece that is itself a vocabulary token is taken whole, without running the
    /// merges (Hugging Face's `ignore_merges`; Llama 3 sets it).
    public let ignoresMerges: Bool
    /// Whether ordinary text is put in Unicode normalization form C first (a `NFC` normalizer).
    public let normalizesNFC: Bool
    /// Token strings by id (byte-level encoded, e.g. "Ġthe").
    public let tokens: [String]
    /// Special tokens matched whole in input text: content → id.
    public let specialTokens: [String: Int]
    /// The merge rules in priority order (first = applied first), as read; kept for writing
    /// `tokenizer.json`.
    public let mergeRules: [[String]]

    /// (left id, right id) → rank << 32 | merged id.
    private let merges: PairTable
    /// Token id of each single byte's symbol (−1: none).
    private let byteTokens: [Int32]
    /// Bytes of each token (nil for special tokens, which decode to their text).
    private let tokenBytes: [[UInt8]?]
    /// Byte strings of the ordinary tokens → id (for `ignoresMerges`).
    private let vocabularyByBytes: ByteStringMap
    private let specialIds: Set<Int>
    /// Special tokens' UTF-8, longest first, grouped by first byte.
    private let specialsByFirstByte: [[(bytes: [UInt8], id: Int)]]

    /// Builds a tokenizer from its parts (as GGUF metadata lists them).
    /// - Parameters:
    ///   - tokens: byte-level token strings indexed by id.
    ///   - merges: merge pairs in priority order (first = applied first).
    ///   - specialTokens: content → id of tokens matched whole in input.
    ///   - ignoreMerges: take a piece that is a whole token directly; nil: only for `.llama3`
    ///     (as llama.cpp does).
    /// - Throws: ``TokenizerError`` when a merge names tokens that are not in the vocabulary, or
    ///   the vocabulary has no byte-level symbols.
    public init(
        tokens: [String], merges: [(String, String)], specialTokens: [String: Int], preTokenizer: PreTokenizer,
        beginningOfSequenceTokenId: Int?, endOfSequenceTokenId: Int?, paddingTokenId: Int?, unknownTokenId: Int? = nil,
        ignoreMerges: Bool? = nil, normalizeNFC: Bool = false
    ) throws {
        self.unknownTokenId = unknownTokenId
        self.tokens = tokens
        mergeRules = merges.map { [$0.0, $0.1] }
        vocabularySize = tokens.count
        self.preTokenizer = preTokenizer
        self.specialTokens = specialTokens
        self.beginningOfSequenceTokenId = beginningOfSequenceTokenId
        self.endOfSequenceTokenId = endOfSequenceTokenId
        self.paddingTokenId = paddingTokenId
        ignoresMerges = ignoreMerges ?? (preTokenizer == .llama3)
        normalizesNFC = normalizeNFC
        for (content, id) in specialTokens where !(0..<tokens.count).contains(id) {
            throw TokenizerError("special token \(content.debugDescription) has id \(id), outside the vocabulary of \(tokens.count)")
        }
        var idByToken = [String: Int32](minimumCapacity: tokens.count)
        for (id, token) in tokens.enumerated() where idByToken[token] == nil { idByToken[token] = Int32(id) }
        // Some vocabularies lack a few raw-byte symbols; such bytes become `unknownTokenId` (or are dropped).
        var byteTokens = [Int32](repeating: -1, count: 256)
        for byte in 0..<256 { byteTokens[byte] = idByToken[String(ByteLevel.scalar(for: UInt8(byte)))] ?? -1 }
        guard byteTokens.contains(where: { $0 >= 0 }) else { throw TokenizerError("the vocabulary has no byte-level symbols") }
        self.byteTokens = byteTokens
        var mergeTable = PairTable(minimumCapacity: merges.count)
        for (rank, (left, right)) in merges.enumerated() {
            guard let l = idByToken[left], let r = idByToken[right], let result = idByToken[left + right] else {
                throw TokenizerError("merge #\(rank) '\(left) \(right)' refers to tokens that are not in the vocabulary")
            }
            mergeTable.insertIfAbsent(PairTable.key(l, r), UInt64(rank) << 32 | UInt64(UInt32(result)))
        }
        self.merges = mergeTable
        specialIds = Set(specialTokens.values)
        let tokenBytes = tokens.enumerated().map { id, token in
            specialTokens[token] == id ? nil : ByteLevel.bytes(of: token)
        }
        self.tokenBytes = tokenBytes
        var vocabulary = ByteStringMap(minimumCapacity: ignoresMerges ? tokens.count : 0)
        if ignoresMerges {
            for (id, bytes) in tokenBytes.enumerated() {
                guard let bytes, !bytes.isEmpty else { continue }
                bytes.withUnsafeBufferPointer { bytes in
                    let hash = ByteStringMap.hash(bytes)
                    if vocabulary.find(bytes, hash: hash) == nil { vocabulary.insert(bytes, hash: hash, payload: UInt64(id)) }
                }
            }
        }
        vocabularyByBytes = vocabulary
        var groups = [[(bytes: [UInt8], id: Int)]](repeating: [], count: 256)
        for (content, id) in specialTokens {
            let bytes = Array(content.utf8)
            guard let first = bytes.first else { continue }
            groups[Int(first)].append((bytes, id))
        }
        specialsByFirstByte = groups.map { $0.sorted { $0.bytes.count > $1.bytes.count } }
    }

    // MARK: - Encoding

    public func encode(_ text: String) -> [Int] {
        var output = [Int]()
        var text = text
        text.withUTF8 { utf8 in
            output.reserveCapacity(utf8.count / 3 + 1)
            var scratch = EncodeScratch(textLength: utf8.count)
            var segmentStart = 0
            var position = 0
            if !specialTokens.isEmpty {
                // Special tokens, found on the UTF-8 bytes; the text between them is ordinary.
                while position < utf8.count {
                    let candidates = specialsByFirstByte[Int(utf8[position])]
                    if !candidates.isEmpty, let match = candidates.first(where: { candidate in
                        candidate.bytes.count <= utf8.count - position
                            && candidate.bytes.withUnsafeBufferPointer { bytes in
                                var k = 1
                                while k < bytes.count && bytes[k] == utf8[position + k] { k += 1 }
                                return k == bytes.count
                            }
                    }) {
                        if segmentStart < position {
                            encodeOrdinary(UnsafeBufferPointer(rebasing: utf8[segmentStart..<position]), &scratch, into: &output)
                        }
                        output.append(match.id)
                        position += match.bytes.count
                        segmentStart = position
                        continue
                    }
                    position += 1
                }
            }
            if segmentStart < utf8.count {
                encodeOrdinary(UnsafeBufferPointer(rebasing: utf8[segmentStart...]), &scratch, into: &output)
            }
        }
        return output
    }

    /// Pre-tokenizes and BPE-encodes UTF-8 text that contains no special tokens.
    private func encodeOrdinary(_ utf8: UnsafeBufferPointer<UInt8>, _ scratch: inout EncodeScratch, into output: inout [Int]) {
        if normalizesNFC {
            var normalized = normalizedNFC(String(decoding: utf8, as: UTF8.self))
            normalized.withUTF8 { encodeSplit($0, &scratch, into: &output) }
        } else {
            encodeSplit(utf8, &scratch, into: &output)
        }
    }

    private func encodeSplit(_ utf8: UnsafeBufferPointer<UInt8>, _ scratch: inout EncodeScratch, into output: inout [Int]) {
        scratch.text.assign(utf8: utf8)
        scratch.ends.removeAll(keepingCapacity: true)
        preTokenizer.split(scratch.text, into: &scratch.ends)
        let offsets = scratch.text.offsets
        var start = 0
        for end in scratch.ends {
            let piece = UnsafeBufferPointer(rebasing: utf8[Int(offsets[start])..<Int(offsets[Int(end)])])
            start = Int(end)
            encodePiece(piece, &scratch, into: &output)
        }
    }

    /// Longest piece kept in the per-call cache.
    static let cachedPieceLength = 64

    /// BPE-encodes one pre-tokenized piece, through the cache when it is short.
    @inline(__always)
    private func encodePiece(_ piece: UnsafeBufferPointer<UInt8>, _ scratch: inout EncodeScratch, into output: inout [Int]) {
        if piece.count == 1 {
            let id = byteTokens[Int(piece[0])]
            if id >= 0 { output.append(Int(id)) } else if let unknownTokenId { output.append(unknownTokenId) }
            return
        }
        guard piece.count <= Self.cachedPieceLength else {
            mergePiece(piece, &scratch, into: &output)
            return
        }
        let hash = ByteStringMap.hash(piece)
        if let payload = scratch.cache.find(piece, hash: hash) {
            let start = Int(payload >> 8), count = Int(payload & 0xFF)
            scratch.cachedIds.withUnsafeBufferPointer { ids in
                for k in start..<(start + count) { output.append(Int(ids[k])) }
            }
            return
        }
        let before = output.count
        mergePiece(piece, &scratch, into: &output)
        if scratch.cache.count >= EncodeScratch.maximumCacheEntries {
            scratch.cache.removeAll()
            scratch.cachedIds.removeAll(keepingCapacity: true)
        }
        let start = scratch.cachedIds.count
        for k in before..<output.count { scratch.cachedIds.append(Int32(output[k])) }
        scratch.cache.insert(piece, hash: hash, payload: UInt64(start) << 8 | UInt64(output.count - before))
    }

    /// Pieces longer than this merge with a heap (O(n log n)) instead of rescanning (O(n²)).
    static let heapThreshold = 48

    /// BPE on one piece: start from byte symbols, repeatedly merge the adjacent pair of lowest
    /// rank (the leftmost of equal ranks).
    private func mergePiece(_ piece: UnsafeBufferPointer<UInt8>, _ scratch: inout EncodeScratch, into output: inout [Int]) {
        if ignoresMerges {
            if let id = vocabularyByBytes.find(piece, hash: ByteStringMap.hash(piece)) {
                output.append(Int(id))
                return
            }
        }
        if piece.count > Self.heapThreshold {
            mergeWithHeap(piece, &scratch, into: &output)
        } else {
            mergeByScanning(piece, &scratch, into: &output)
        }
    }

    /// The merges for short pieces: rescan the pair ranks for the lowest after each merge.
    private func mergeByScanning(_ piece: UnsafeBufferPointer<UInt8>, _ scratch: inout EncodeScratch, into output: inout [Int]) {
        guard piece.count > 1 else {
            if let byte = piece.first { emit(byteTokens[Int(byte)], into: &output) }
            return
        }
        scratch.symbols.removeAll(keepingCapacity: true)
        scratch.pairs.removeAll(keepingCapacity: true)
        for byte in piece { scratch.symbols.append(byteTokens[Int(byte)]) }
        // pairs[i]: rank << 32 | result of merging symbols i and i + 1 (UInt64.max: none).
        // Unknown bytes (−1) never merge: no merge key contains −1.
        for i in 0..<(piece.count - 1) { scratch.pairs.append(merges.value(PairTable.key(scratch.symbols[i], scratch.symbols[i + 1]))) }
        scratch.symbols.withUnsafeMutableBufferPointer { symbols in
            scratch.pairs.withUnsafeMutableBufferPointer { pairs in
                var n = symbols.count
                while n > 1 {
                    var best = UInt64.max, bestIndex = -1
                    for i in 0..<(n - 1) where pairs[i] < best {
                        best = pairs[i]
                        bestIndex = i
                    }
                    if bestIndex < 0 { break }
                    symbols[bestIndex] = Int32(truncatingIfNeeded: best)
                    // Drop symbol bestIndex + 1 and pair bestIndex + 1: shift the rest left.
                    var k = bestIndex + 1
                    while k < n - 1 {
                        symbols[k] = symbols[k + 1]
                        if k < n - 2 { pairs[k] = pairs[k + 1] }
                        k += 1
                    }
                    n -= 1
                    if bestIndex > 0 { pairs[bestIndex - 1] = merges.value(PairTable.key(symbols[bestIndex - 1], symbols[bestIndex])) }
                    if bestIndex < n - 1 { pairs[bestIndex] = merges.value(PairTable.key(symbols[bestIndex], symbols[bestIndex + 1])) }
                }
                for i in 0..<n { emit(symbols[i], into: &output) }
            }
        }
    }

    @inline(__always) private func emit(_ symbol: Int32, into output: inout [Int]) {
        if symbol >= 0 { output.append(Int(symbol)) } else if let unknownTokenId { output.append(unknownTokenId) }
    }

    /// The same merges for long pieces: a doubly linked list of symbols and a min-heap of
    /// (rank, position) candidates, stale ones skipped when popped.
    private func mergeWithHeap(_ piece: UnsafeBufferPointer<UInt8>, _ scratch: inout EncodeScratch, into output: inout [Int]) {
        let n = piece.count
        guard n > 1 else {
            if let byte = piece.first { emit(byteTokens[Int(byte)], into: &output) }
            return
        }
        var symbols = piece.map { byteTokens[Int($0)] }
        var next = Array(1...n)  // n: none
        var previous = Array(-1..<(n - 1))  // −1: none
        var heap = MinHeap()
        @inline(__always) func candidate(_ i: Int) {
            let j = next[i]
            guard j < n else { return }
            let value = merges.value(PairTable.key(symbols[i], symbols[j]))
            if value != UInt64.max { heap.push((value >> 32) << 32 | UInt64(i)) }
        }
        for i in 0..<(n - 1) { candidate(i) }
        while let top = heap.pop() {
            let i = Int(top & 0xFFFF_FFFF), rank = top >> 32
            let j = next[i]
            guard symbols[i] != Int32.min, j < n else { continue }  // removed, or no right neighbour
            let value = merges.value(PairTable.key(symbols[i], symbols[j]))
            guard value != UInt64.max, value >> 32 == rank else { continue }  // stale
            symbols[i] = Int32(truncatingIfNeeded: value)
            symbols[j] = Int32.min
            next[i] = next[j]
            if next[j] < n { previous[next[j]] = i }
            if previous[i] >= 0 { candidate(previous[i]) }
            candidate(i)
        }
        var i = 0
        while i < n {
            emit(symbols[i], into: &output)
            i = next[i]
        }
    }

    /// Runs the merges of `bytes` as one piece with the given algorithm (for tests).
    func mergeForTesting(_ bytes: [UInt8], heap: Bool) -> [Int] {
        var scratch = EncodeScratch(textLength: 0)
        var output = [Int]()
        bytes.withUnsafeBufferPointer { piece in
            if heap { mergeWithHeap(piece, &scratch, into: &output) } else { mergeByScanning(piece, &scratch, into: &output) }
        }
        return output
    }

    // MARK: - Decoding

    public func decode(_ tokens: [Int], skipSpecialTokens: Bool) -> String {
        var bytes = [UInt8]()
        bytes.reserveCapacity(tokens.count * 4)
        for token in tokens { append(token, to: &bytes, skipSpecialTokens: skipSpecialTokens) }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Appends the bytes of `token` (its text for special tokens unless skipped; nothing for ids
    /// outside the vocabulary).
    func append(_ token: Int, to bytes: inout [UInt8], skipSpecialTokens: Bool) {
        guard token >= 0 && token < tokenBytes.count else { return }
        if let tokenBytes = tokenBytes[token] {
            bytes.append(contentsOf: tokenBytes)
        } else if !skipSpecialTokens {
            bytes.append(contentsOf: tokens[token].utf8)
        }
    }

    /// The bytes `token` stands for (a special token's text), or nil outside the vocabulary.
    public func bytes(of token: Int) -> [UInt8]? {
        guard token >= 0 && token < tokenBytes.count else { return nil }
        return tokenBytes[token] ?? Array(tokens[token].utf8)
    }

    /// Whether `token` is a special (control) token.
    public func isSpecial(_ token: Int) -> Bool { specialIds.contains(token) }

    public func specialTokenId(_ text: String) -> Int? { specialTokens[text] }

    /// The id of a token string (byte-level encoded, or a special token's text), if it is in the vocabulary.
    public func id(of token: String) -> Int? {
        if let id = specialTokens[token] { return id }
        return tokens.indices.first { tokens[$0].unicodeScalars.elementsEqual(token.unicodeScalars) }
    }
}

/// Buffers reused across the pieces of one `encode` call, and its piece cache.
struct EncodeScratch {
    static let maximumCacheEntries = 1 << 18
    var text = ClassifiedText()
    var ends: [Int32] = []
    var symbols: [Int32] = []
    var pairs: [UInt64] = []
    /// Piece bytes → (start in `cachedIds`) << 8 | count.
    var cache: ByteStringMap
    var cachedIds: [Int32] = []

    init(textLength: Int) {
        cache = ByteStringMap(minimumCapacity: min(max(textLength / 64, 16), 1 << 14))
    }
}

/// A binary min-heap of packed (rank, position) keys.
struct MinHeap {
    private var items: [UInt64] = []

    mutating func push(_ item: UInt64) {
        items.append(item)
        var i = items.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard items[parent] > items[i] else { break }
            items.swapAt(parent, i)
            i = parent
        }
    }

    mutating func pop() -> UInt64? {
        guard let top = items.first else { return nil }
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            var i = 0
            while true {
                let l = 2 * i + 1, r = l + 1
                var smallest = i
                if l < items.count && items[l] < items[smallest] { smallest = l }
                if r < items.count && items[r] < items[smallest] { smallest = r }
                if smallest == i { break }
                items.swapAt(i, smallest)
                i = smallest
            }
        }
        return top
    }
}

/// Decodes a stream of tokens into text, emitting only complete UTF-8 characters (a character
/// split across tokens appears once its last byte arrives).
public struct StreamingDecoder: Sendable {
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
        // Emit everything up to the start of a trailing incomplete UTF-8 sequence.
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
