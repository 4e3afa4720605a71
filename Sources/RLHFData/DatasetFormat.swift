import Foundation

/// TRL's dataset formats, told apart by their fields.
public enum DatasetFormat: String, Sendable, CaseIterable, CustomStringConvertible {
    /// `chosen` + `rejected` (+ `prompt`, or an implicit prompt): reward models, DPO. ``PreferenceRecord``.
    case preference
    /// `prompt` + `completion` + `label`: KTO. ``UnpairedPreferenceRecord``.
    case unpairedPreference
    /// `prompt` alone (+ any fields for reward sources): PPO, P3O, GRPO. ``PromptRecord``.
    case promptOnly
    /// `text`: SFT language modeling. ``SFTRecord``.
    case languageModeling
    /// `messages`: SFT on conversations. ``SFTRecord``.
    case conversation
    /// `prompt` + `completion`: SFT with loss on the completion. ``SFTRecord``.
    case promptCompletion

    public var description: String {
        switch self {
        case .preference: return "preference"
        case .unpairedPreference: return "unpaired preference (KTO)"
        case .promptOnly: return "prompt-only"
        case .languageModeling: return "language modeling ('text')"
        case .conversation: return "conversational ('messages')"
        case .promptCompletion: return "prompt-completion"
        }
    }

    /// "a" or "an", to go before ``description``.
    var article: String { self == .unpairedPreference ? "an" : "a" }

    /// Whether `self` and `other` are read by the same record type (the three SFT formats).
    func sameFamily(as other: DatasetFormat) -> Bool { isSFT && other.isSFT }

    /// The fields that mark this format (all but a shared `prompt`).
    var ownFields: Set<String> {
        switch self {
        case .preference: return ["chosen", "rejected", "margin"]
        case .unpairedPreference: return ["completion", "label"]
        case .promptOnly: return ["prompt"]
        case .languageModeling, .conversation, .promptCompletion: return ["text", "messages", "completion"]
        }
    }

    /// Whether ``SFTRecord`` reads this format.
    public var isSFT: Bool { self == .languageModeling || self == .conversation || self == .promptCompletion }

    /// The format whose fields `fields` has, most specific first: `chosen` + `rejected` →
    /// preference; `completion` + `label` → unpaired; `prompt` + `completion` → prompt-completion;
    /// `messages`; `text`; `prompt` → prompt-only. Nil when none fits.
    public static func detect(fields: some Collection<String>) -> DatasetFormat? {
        let keys = Set(fields)
        if keys.contains("chosen") && keys.contains("rejected") { return .preference }
        if keys.contains("completion") && keys.contains("label") { return .unpairedPreference }
        if keys.contains("prompt") && keys.contains("completion") { return .promptCompletion }
        if keys.contains("messages") { return .conversation }
        if keys.contains("text") { return .languageModeling }
        if keys.contains("prompt") { return .promptOnly }
        return nil
    }

    /// The format of the file at `path`, from the fields of its first record.
    /// - Throws: ``DatasetError`` when the file cannot be read, is empty, its first line is not a
    ///   JSON object, or no format fits its fields.
    public static func detect(path: String) throws(DatasetError) -> DatasetFormat {
        try detect(JSONLReader.contents(of: path), file: path)
    }

    /// The format of JSONL `data`, from the fields of its first record; `file` names it in errors.
    public static func detect(_ data: Data, file: String) throws(DatasetError) -> DatasetFormat {
        if data.isEmpty { throw DatasetError(file: file, line: nil, reason: "the file is empty") }
        let result: Result<DatasetFormat, DatasetError> = data.withUnsafeBytes { raw in
            let bytes = raw.bindMemory(to: UInt8.self)
            guard let first = JSONLReader.splitLines(bytes).first else {
                return .failure(DatasetError(file: file, line: nil, reason: "the file has only blank lines"))
            }
            do throws(DatasetError) {
                let members = try JSONLReader.parseObject(
                    UnsafeBufferPointer(rebasing: bytes[first.start..<first.end]), file: file, line: first.number)
                guard let format = detect(fields: members.keys) else {
                    let found = members.isEmpty ? "no fields" : "the fields " + FieldReader.list(members.keys)
                    return .failure(DatasetError(file: file, line: first.number, reason: """
                        no dataset format fits \(found); expected chosen + rejected (preference), \
                        prompt + completion + label (unpaired preference), prompt + completion, messages, text, \
                        or prompt (prompt-only)
                        """))
                }
                return .success(format)
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }
}
