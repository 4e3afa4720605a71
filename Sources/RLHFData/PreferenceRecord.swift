import RLHFTokenizer

/// A preferred and a dispreferred completion of one prompt (TRL's preference format).
///
/// Read from `{"prompt", "chosen", "rejected"}` with all three strings ("standard") or all three
/// message lists ("conversational": the prompt's messages, then each completion's assistant
/// messages), or from the implicit-prompt form without `prompt`, where `chosen` and `rejected` are
/// whole texts or conversations and their shared beginning is the prompt (see
/// ``extractPrompt(chosen:rejected:)``). An optional numeric `margin` (TRL's reward-model margin)
/// is kept; other fields are kept in ``fields``.
public struct PreferenceRecord: DatasetRecord {
    /// The prompt; nil only for records built in code without one (read records always have one).
    public var prompt: RecordText?
    public var chosen: RecordText
    public var rejected: RecordText
    /// How much better `chosen` is (TRL's `margin` column), if given.
    public var margin: Double?
    /// The record's other fields.
    public var fields: [String: JSONValue]
    public var line: Int

    public init(prompt: RecordText?, chosen: RecordText, rejected: RecordText, margin: Double? = nil,
                fields: [String: JSONValue] = [:], line: Int = 0) {
        self.prompt = prompt
        self.chosen = chosen
        self.rejected = rejected
        self.margin = margin
        self.fields = fields
        self.line = line
    }

    static let knownFields: Set<String> = ["prompt", "chosen", "rejected", "margin"]

    public init(jsonObject: [String: JSONValue], file: String, line: Int) throws(DatasetError) {
        let reader = FieldReader(members: jsonObject, file: file, line: line)
        let chosen = try reader.recordText("chosen", for: .preference)
        let rejected = try reader.recordText("rejected", for: .preference)
        try reader.requireSameKind(("chosen", chosen), ("rejected", rejected))
        let margin = try reader.optionalNumber("margin")
        let fields = reader.extraFields(excluding: Self.knownFields)
        if let prompt = try reader.optionalRecordText("prompt") {
            try reader.requireSameKind(("prompt", prompt), ("chosen", chosen))
            self.init(prompt: prompt, chosen: chosen, rejected: rejected, margin: margin, fields: fields, line: line)
        } else {
            let split: (prompt: RecordText, chosen: RecordText, rejected: RecordText)
            do throws(ImplicitPromptError) {
                split = try Self.extractPrompt(chosen: chosen, rejected: rejected)
            } catch {
                throw reader.error(error.reason + " (no 'prompt' field, so the prompt is their shared beginning)")
            }
            self.init(prompt: split.prompt, chosen: split.chosen, rejected: split.rejected, margin: margin, fields: fields, line: line)
        }
    }

    /// Why an implicit prompt cannot be extracted.
    public struct ImplicitPromptError: Error, Sendable, Equatable {
        public let reason: String
    }

    /// Splits two whole texts or conversations into their shared prompt and the two completions,
    /// as TRL's `extract_prompt`: the longest common prefix is the prompt (for texts, counted in
    /// Unicode scalars as Python counts characters, and a space that ends it goes back to the
    /// completions); for conversations, the shared leading messages are the prompt and the
    /// remaining messages, which must start with an assistant message, the completions.
    ///
    /// Unlike TRL, which then trains on whatever is left, it is an error when nothing is shared,
    /// when a completion would be empty, or when the conversations first differ in a message that
    /// is not the assistant's.
    public static func extractPrompt(chosen: RecordText, rejected: RecordText) throws(ImplicitPromptError)
        -> (prompt: RecordText, chosen: RecordText, rejected: RecordText) {
        switch (chosen, rejected) {
        case let (.text(chosen), .text(rejected)):
            let a = Array(chosen.unicodeScalars), b = Array(rejected.unicodeScalars)
            var shared = commonPrefixCount(a, b)
            if shared < a.count, shared < b.count, shared > 0, a[shared - 1] == " " { shared -= 1 }
            try checkSplit(shared: shared, chosenCount: a.count, rejectedCount: b.count, unit: "text")
            return (.text(text(a[..<shared])), .text(text(a[shared...])), .text(text(b[shared...])))
        case let (.messages(chosen), .messages(rejected)):
            let shared = commonPrefixCount(chosen, rejected)
            try checkSplit(shared: shared, chosenCount: chosen.count, rejectedCount: rejected.count, unit: "messages")
            for (name, messages) in [("chosen", chosen), ("rejected", rejected)] where messages[shared].role != "assistant" {
                throw ImplicitPromptError(reason: """
                    'chosen' and 'rejected' first differ at messages[\(shared)], which is a \(messages[shared].role) \
                    message in '\(name)'; the completions after the shared messages must start with an assistant message
                    """)
            }
            return (.messages(Array(chosen[..<shared])), .messages(Array(chosen[shared...])), .messages(Array(rejected[shared...])))
        default:
            throw ImplicitPromptError(reason: "'chosen' is \(chosen.kindDescription) but 'rejected' is \(rejected.kindDescription)")
        }
    }

    private static func commonPrefixCount<T: Equatable>(_ a: [T], _ b: [T]) -> Int {
        var count = 0
        while count < a.count, count < b.count, a[count] == b[count] { count += 1 }
        return count
    }

    private static func checkSplit(shared: Int, chosenCount: Int, rejectedCount: Int, unit: String) throws(ImplicitPromptError) {
        if chosenCount == rejectedCount && shared == chosenCount {
            throw ImplicitPromptError(reason: "'chosen' and 'rejected' are identical")
        }
        if shared == 0 {
            throw ImplicitPromptError(reason: unit == "text"
                ? "'chosen' and 'rejected' share no beginning" : "'chosen' and 'rejected' share no leading messages")
        }
        for (name, count) in [("chosen", chosenCount), ("rejected", rejectedCount)] where count == shared {
            throw ImplicitPromptError(reason: "'\(name)' is empty after the \(unit) it shares with the other completion")
        }
    }

    private static func text(_ scalars: ArraySlice<Unicode.Scalar>) -> String {
        var view = String.UnicodeScalarView()
        view.append(contentsOf: scalars)
        return String(view)
    }
}
