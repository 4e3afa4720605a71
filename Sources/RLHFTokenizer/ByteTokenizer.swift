/// A byte-level tokenizer: ids 0–255 are the UTF-8 bytes, then BOS, EOS and PAD.
///
/// For models trained from scratch on small corpora (the SFT quick-start and the synthetic demo);
/// pretrained models bring their own BPE tokenizer.
public struct ByteTokenizer: Tokenizer, Equatable {
    public init() {}

    public var vocabularySize: Int { 259 }
    public var beginningOfSequenceTokenId: Int? { 256 }
    public var endOfSequenceTokenId: Int? { 257 }
    /// Padding id.
    public var paddingTokenId: Int? { 258 }

    /// `<s>`, `</s>` and `<pad>` (the names `decode` writes).
    public func specialTokenId(_ text: String) -> Int? {
        switch text {
        case "<s>": return 256
        case "</s>": return 257
        case "<pad>": return 258
        default: return nil
        }
    }

    public func encode(_ text: String) -> [Int] { text.utf8.map { Int($0) } }

    public func decode(_ tokens: [Int], skipSpecialTokens: Bool) -> String {
        var bytes = [UInt8]()
        var text = ""
        for token in tokens {
            if (0..<256).contains(token) {
                bytes.append(UInt8(token))
                continue
            }
            if skipSpecialTokens { continue }
            text += String(decoding: bytes, as: UTF8.self)
            bytes.removeAll()
            switch token {
            case 256: text += "<s>"
            case 257: text += "</s>"
            case 258: text += "<pad>"
            default: text += "<unk:\(token)>"
            }
        }
        return text + String(decoding: bytes, as: UTF8.self)
    }
}
