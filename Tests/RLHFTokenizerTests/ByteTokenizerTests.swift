import RLHFTokenizer
import Testing

@Suite("Byte tokenizer")
struct ByteTokenizerTests {
    @Test func roundTripsUTF8() {
        let tokenizer = ByteTokenizer()
        let text = "Zürich 東京 🙂"
        let ids = tokenizer.encode(text)
        #expect(ids.count == text.utf8.count)
        #expect(tokenizer.decode(ids) == text)
        #expect(tokenizer.decode([72, 105, 257], skipSpecialTokens: false) == "Hi</s>")
        #expect(tokenizer.decode([72, 105, 257]) == "Hi")
    }
}
