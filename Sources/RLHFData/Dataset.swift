import Foundation

/// A record type read from one JSONL line.
public protocol DatasetRecord: Sendable, Equatable {
    /// Reads the record from the JSON object on line `line` of `file`.
    /// - Throws: ``DatasetError`` naming the field that is missing or malformed.
    init(jsonObject: [String: JSONValue], file: String, line: Int) throws(DatasetError)
    /// The 1-based line of the file the record came from (0 for records built in code).
    var line: Int { get }
}

/// The records of one JSONL file.
///
///     let pairs = try PreferenceDataset.load(path: "data/pairs.jsonl")
///     print(pairs.records.count, pairs.records[0].chosen)
public struct Dataset<Record: DatasetRecord>: Sendable {
    /// The file the records came from (for errors), as given.
    public let file: String
    public var records: [Record]

    public init(file: String, records: [Record]) {
        self.file = file
        self.records = records
    }

    /// Reads every line of the file at `path` (lines are parsed in parallel; order is kept).
    /// - Throws: ``DatasetError`` for the first malformed line, an unreadable or empty file.
    public static func load(path: String) throws(DatasetError) -> Dataset {
        try parse(JSONLReader.contents(of: path), file: path)
    }

    /// Reads JSONL `data`; `file` names it in errors.
    public static func parse(_ data: Data, file: String) throws(DatasetError) -> Dataset {
        let records = try JSONLReader.map(data, file: file) { (object) throws(DatasetError) -> Record in
            try Record(jsonObject: object.members, file: file, line: object.line)
        }
        return Dataset(file: file, records: records)
    }
}

/// `chosen`/`rejected` pairs (reward models, DPO).
public typealias PreferenceDataset = Dataset<PreferenceRecord>
/// `prompt`/`completion`/`label` (KTO).
public typealias UnpairedPreferenceDataset = Dataset<UnpairedPreferenceRecord>
/// Prompts with their extra fields (PPO, P3O, GRPO).
public typealias PromptDataset = Dataset<PromptRecord>
/// `text`, `messages` or `prompt` + `completion` (SFT).
public typealias SFTDataset = Dataset<SFTRecord>
