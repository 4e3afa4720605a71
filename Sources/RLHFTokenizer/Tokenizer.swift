/// Text ↔ token ids.
public protocol Tokenizer: Sendable {
    /// Number of token ids.
    var vocabularySize: Int { get }
    /// Beginning-of-sequence id, if any.
    var beginningOfSequenceTokenId: Int? { get }
    /// End-of-sequence id, if any.
    var endOfSequenceTokenId: Int? { get }
    /// Padding id, if any.
    var paddingTokenId: Int? { get }
    /// The id of a special token given by its text (`"<|im_end|>"`), if the tokenizer has it.
    func specialTokenId(_ text: String) -> Int?
    /// Token ids of `text` (no special tokens added).
    func encode(_ text: String) -> [Int]
    /// Text of `tokens`; special tokens are dropped when `skipSpecialTokens`.
    func decode(_ tokens: [Int], skipSpecialTokens: Bool) -> String
}

extension Tokenizer {
    /// Text of `tokens`, special tokens dropped.
    public func decode(_ tokens: [Int]) -> String { decode(tokens, skipSpecialTokens: true) }
}
