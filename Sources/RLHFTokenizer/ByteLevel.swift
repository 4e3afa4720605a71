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

    /// Byte of each table character, indexed by scalar value (−1: not a table character).
    static let inverse: [Int16] = {
        var map = [Int16](repeating: -1, count: 0x144)
        for (byte, scalar) in table.enumerated() { map[Int(scalar.value)] = Int16(byte) }
        return map
    }()

    static func scalar(for byte: UInt8) -> Unicode.Scalar { table[Int(byte)] }

    /// The byte-level string of `bytes` (each byte as its table character).
    static func string(of bytes: some Sequence<UInt8>) -> String {
        var view = String.UnicodeScalarView()
        for byte in bytes { view.append(table[Int(byte)]) }
        return String(view)
    }

    /// The bytes a byte-level token string stands for (characters outside the table are taken as
    /// their own UTF-8, as added tokens are).
    static func bytes(of token: String) -> [UInt8] {
        var result = [UInt8]()
        for scalar in token.unicodeScalars {
            let value = Int(scalar.value)
            if value < inverse.count, inverse[value] >= 0 {
                result.append(UInt8(inverse[value]))
            } else {
                result.append(contentsOf: String(scalar).utf8)
            }
        }
        return result
    }
}

/// Open-addressing hash map from 64-bit keys (a packed pair of token ids) to 64-bit values.
/// Immutable once built, so safe to share between threads.
struct PairTable: Sendable {
    private static let empty = UInt64.max
    private var keys: [UInt64]
    private var values: [UInt64]
    private let shift: UInt64
    private let mask: Int

    init(minimumCapacity count: Int) {
        var bits = 4
        while (1 << bits) < count * 2 { bits += 1 }
        keys = [UInt64](repeating: Self.empty, count: 1 << bits)
        values = [UInt64](repeating: 0, count: 1 << bits)
        shift = UInt64(64 - bits)
        mask = (1 << bits) - 1
    }

    @inline(__always) static func key(_ left: Int32, _ right: Int32) -> UInt64 {
        UInt64(UInt32(bitPattern: left)) << 32 | UInt64(UInt32(bitPattern: right))
    }

    @inline(__always) private func slot(_ key: UInt64) -> Int { Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> shift) }

    /// Inserts unless the key is already there (the first value wins). Returns whether it inserted.
    @discardableResult
    mutating func insertIfAbsent(_ key: UInt64, _ value: UInt64) -> Bool {
        var i = slot(key)
        while keys[i] != Self.empty {
            if keys[i] == key { return false }
            i = (i + 1) & mask
        }
        keys[i] = key
        values[i] = value
        return true
    }

    /// The value of `key`, or `UInt64.max` when absent.
    @inline(__always) func value(_ key: UInt64) -> UInt64 {
        keys.withUnsafeBufferPointer { keys in
            var i = slot(key)
            while true {
                let k = keys[i]
                if k == key { return values[i] }
                if k == Self.empty { return UInt64.max }
                i = (i + 1) & mask
            }
        }
    }
}

/// Open-addressing hash map from byte strings (compared byte for byte, unlike `String`, whose
/// equality is canonical equivalence) to 64-bit payloads.
struct ByteStringMap: Sendable {
    private var slots: [Int32]
    private var mask: Int
    private var hashes: [UInt64] = []
    private var keyStarts: [Int32] = []
    private var keyLengths: [Int32] = []
    private var arena: [UInt8] = []
    private(set) var payloads: [UInt64] = []

    init(minimumCapacity: Int = 16) {
        var size = 16
        while size < minimumCapacity * 2 { size <<= 1 }
        slots = [Int32](repeating: -1, count: size)
        mask = size - 1
    }

    var count: Int { hashes.count }
    var arenaSize: Int { arena.count }

    @inline(__always) static func hash(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in bytes { h = (h ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
        return h ^ (h >> 29)
    }

    /// The payload stored for `bytes` (whose hash is `hash`), or nil.
    @inline(__always) func find(_ bytes: UnsafeBufferPointer<UInt8>, hash: UInt64) -> UInt64? {
        var i = Int(truncatingIfNeeded: hash) & mask
        while true {
            let entry = Int(slots[i])
            if entry < 0 { return nil }
            if hashes[entry] == hash && Int(keyLengths[entry]) == bytes.count {
                let start = Int(keyStarts[entry])
                let equal = arena.withUnsafeBufferPointer { arena in
                    var k = 0
                    while k < bytes.count && arena[start + k] == bytes[k] { k += 1 }
                    return k == bytes.count
                }
                if equal { return payloads[entry] }
            }
            i = (i + 1) & mask
        }
    }

    /// Adds `bytes` → `payload`; the caller has checked it is absent.
    mutating func insert(_ bytes: UnsafeBufferPointer<UInt8>, hash: UInt64, payload: UInt64) {
        if (hashes.count + 1) * 2 > slots.count { grow() }
        let entry = Int32(hashes.count)
        hashes.append(hash)
        keyStarts.append(Int32(arena.count))
        keyLengths.append(Int32(bytes.count))
        arena.append(contentsOf: bytes)
        payloads.append(payload)
        place(entry, hash: hash)
    }

    mutating func removeAll() {
        for i in slots.indices { slots[i] = -1 }
        hashes.removeAll(keepingCapacity: true)
        keyStarts.removeAll(keepingCapacity: true)
        keyLengths.removeAll(keepingCapacity: true)
        arena.removeAll(keepingCapacity: true)
        payloads.removeAll(keepingCapacity: true)
    }

    private mutating func place(_ entry: Int32, hash: UInt64) {
        var i = Int(truncatingIfNeeded: hash) & mask
        while slots[i] >= 0 { i = (i + 1) & mask }
        slots[i] = entry
    }

    private mutating func grow() {
        let size = slots.count * 2
        slots = [Int32](repeating: -1, count: size)
        mask = size - 1
        for entry in hashes.indices { place(Int32(entry), hash: hashes[entry]) }
    }
}
