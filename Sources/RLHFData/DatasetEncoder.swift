import RLHFTokenizer

/// Turns dataset records into token ids, as TRL tokenizes them.
///
/// - Conversational records (message lists) need a chat template: the prompt is rendered with the
///   generation prompt (ending with the assistant header), the completion is the assistant turn
///   rendered after it *through its end-of-turn token* (see ``ChatRendering``; TRL also keeps the
///   template's trailing newline, this drops it so trained completions end where sampled ones do).
///   Nothing else is added: templates bring their own BOS (Llama 3's `<|begin_of_text|>`).
/// - Plain-text records use the prompt and completion text as they are, with no BOS (as TRL's
///   `tokenize_row` for decoder-only models); the completion, and an SFT `text`, get the
///   tokenizer's EOS appended when ``appendEOS`` (the default, as TRL appends `eos_token_id`).
/// - Prompt and completion are tokenized separately (as TRL does, and as sampling does: the prompt
///   is tokenized, the completion's tokens are generated) and concatenated, then truncated by
///   ``truncation``.
///
/// Whole datasets are encoded in parallel across records, in coarse chunks; order is kept.
public struct DatasetEncoder: Sendable {
    public let tokenizer: any Tokenizer
    /// Needed for conversational records; nil for plain-text data.
    public let template: ChatTemplate?
    public var truncation: TruncationPolicy
    /// Append EOS to plain-text completions (preference, unpaired, SFT prompt-completion) and to
    /// SFT `text`; conversational completions end with the template's end-of-turn token instead.
    public var appendEOS: Bool

    public init(tokenizer: any Tokenizer, template: ChatTemplate? = nil, truncation: TruncationPolicy = .none, appendEOS: Bool = true) {
        self.tokenizer = tokenizer
        self.template = template
        self.truncation = truncation
        self.appendEOS = appendEOS
    }

    // MARK: - Whole datasets

    /// The pairs of `dataset`, in order.
    /// - Throws: ``DatasetError`` at the first record that cannot be encoded.
    public func encode(_ dataset: PreferenceDataset) throws(DatasetError) -> EncodedDataset<TokenizedPair> {
        try encodeAll(dataset) { (record, report) throws(EncodingFailure) in try pair(record, report: &report) }
    }

    public func encode(_ dataset: UnpairedPreferenceDataset) throws(DatasetError) -> EncodedDataset<TokenizedUnpairedExample> {
        try encodeAll(dataset) { (record, report) throws(EncodingFailure) in try unpaired(record, report: &report) }
    }

    public func encode(_ dataset: PromptDataset) throws(DatasetError) -> EncodedDataset<TokenizedPrompt> {
        try encodeAll(dataset) { (record, report) throws(EncodingFailure) in try prompt(record, report: &report) }
    }

    public func encode(_ dataset: SFTDataset) throws(DatasetError) -> EncodedDataset<TokenizedSFTExample> {
        try encodeAll(dataset) { (record, report) throws(EncodingFailure) in try sft(record, report: &report) }
    }

    // MARK: - One record

    /// One pair; `file` names the record's file in errors; `report` counts its truncation.
    public func encode(_ record: PreferenceRecord, file: String = "<record>", report: inout TruncationReport) throws(DatasetError) -> TokenizedPair {
        do throws(EncodingFailure) { return try pair(record, report: &report) } catch { throw wrap(error, file: file, line: record.line) }
    }

    public func encode(_ record: UnpairedPreferenceRecord, file: String = "<record>", report: inout TruncationReport) throws(DatasetError) -> TokenizedUnpairedExample {
        do throws(EncodingFailure) { return try unpaired(record, report: &report) } catch { throw wrap(error, file: file, line: record.line) }
    }

    public func encode(_ record: PromptRecord, file: String = "<record>", report: inout TruncationReport) throws(DatasetError) -> TokenizedPrompt {
        do throws(EncodingFailure) { return try prompt(record, report: &report) } catch { throw wrap(error, file: file, line: record.line) }
    }

    public func encode(_ record: SFTRecord, file: String = "<record>", report: inout TruncationReport) throws(DatasetError) -> TokenizedSFTExample {
        do throws(EncodingFailure) { return try sft(record, report: &report) } catch { throw wrap(error, file: file, line: record.line) }
    }

    /// The text a prompt is given to the model as: the rendered conversation with the generation
    /// prompt, or the plain text.
    public func promptText(_ prompt: RecordText) throws(DatasetError) -> String {
        do throws(EncodingFailure) { return try render(prompt: prompt, completions: []).prompt } catch { throw wrap(error, file: "<record>", line: 0) }
    }

    // MARK: - Implementation

    private func pair(_ record: PreferenceRecord, report: inout TruncationReport) throws(EncodingFailure) -> TokenizedPair {
        var (prompt, completions) = try tokens(prompt: record.prompt, completions: [record.chosen, record.rejected])
        truncation.apply(prompt: &prompt, completions: &completions, report: &report)
        return TokenizedPair(prompt: prompt, chosen: completions[0], rejected: completions[1], margin: record.margin, line: record.line)
    }

    private func unpaired(_ record: UnpairedPreferenceRecord, report: inout TruncationReport) throws(EncodingFailure) -> TokenizedUnpairedExample {
        var (prompt, completions) = try tokens(prompt: record.prompt, completions: [record.completion])
        truncation.apply(prompt: &prompt, completions: &completions, report: &report)
        return TokenizedUnpairedExample(prompt: prompt, completion: completions[0], label: record.label, line: record.line)
    }

    private func prompt(_ record: PromptRecord, report: inout TruncationReport) throws(EncodingFailure) -> TokenizedPrompt {
        let text = try render(prompt: record.prompt, completions: []).prompt
        let full = tokenizer.encode(text)
        var tokens = full
        var none = [[Int]]()
        truncation.apply(prompt: &tokens, completions: &none, report: &report)
        let keptText = tokens.count == full.count ? text : tokenizer.decode(tokens, skipSpecialTokens: false)
        return TokenizedPrompt(tokens: tokens, text: keptText, fields: record.fields, line: record.line)
    }

    private func sft(_ record: SFTRecord, report: inout TruncationReport) throws(EncodingFailure) -> TokenizedSFTExample {
        var tokens = [Int](), mask = [Bool]()
        switch record.content {
        case let .text(text):
            tokens = tokenizer.encode(text)
            if appendEOS { tokens.append(try endOfSequence()) }
            mask = [Bool](repeating: true, count: tokens.count)
        case let .messages(messages):
            for segment in try chatRendering().segments(messages) {
                let ids = tokenizer.encode(String(segment.text))
                tokens += ids
                mask += repeatElement(segment.trained, count: ids.count)
            }
        case let .promptCompletion(prompt, completion):
            var (promptTokens, completions) = try self.tokens(prompt: prompt, completions: [completion])
            truncation.apply(prompt: &promptTokens, completions: &completions, report: &report)
            let mask = [Bool](repeating: false, count: promptTokens.count) + [Bool](repeating: true, count: completions[0].count)
            return TokenizedSFTExample(tokens: promptTokens + completions[0], lossMask: mask, line: record.line)
        }
        truncation.apply(sequence: &tokens, mask: &mask, report: &report)
        return TokenizedSFTExample(tokens: tokens, lossMask: mask, line: record.line)
    }

    /// Prompt and completion ids, tokenized separately (EOS appended to plain-text completions
    /// when ``appendEOS``).
    private func tokens(prompt: RecordText?, completions: [RecordText]) throws(EncodingFailure) -> (prompt: [Int], completions: [[Int]]) {
        let rendered = try render(prompt: prompt, completions: completions)
        let conversational = completions.contains(where: \.isConversational)
        var completionTokens = [[Int]]()
        for text in rendered.completions {
            var ids = tokenizer.encode(text)
            if appendEOS && !conversational { ids.append(try endOfSequence()) }
            completionTokens.append(ids)
        }
        return (tokenizer.encode(rendered.prompt), completionTokens)
    }

    /// The prompt's text and each completion's, rendered with the chat template when conversational.
    private func render(prompt: RecordText?, completions: [RecordText]) throws(EncodingFailure) -> (prompt: String, completions: [String]) {
        let parts = (prompt.map { [$0] } ?? []) + completions
        let conversational = parts.contains(where: \.isConversational)
        guard parts.allSatisfy({ $0.isConversational == conversational }) else {
            throw EncodingFailure(reason: "mixes strings and lists of messages in its prompt and completions")
        }
        if !conversational {
            func text(_ part: RecordText?) -> String { if case let .text(text)? = part { return text } else { return "" } }
            return (text(prompt), completions.map { text($0) })
        }
        let rendering = try chatRendering()
        func messages(_ part: RecordText?) -> [ChatMessage] { if case let .messages(messages)? = part { return messages } else { return [] } }
        let promptMessages = messages(prompt)
        let promptText = rendering.prompt(promptMessages)
        var texts = [String]()
        for completion in completions {
            texts.append(try rendering.completion(messages(completion), after: promptMessages, promptText: promptText))
        }
        return (promptText, texts)
    }

    private func chatRendering() throws(EncodingFailure) -> ChatRendering {
        guard let template else {
            throw EncodingFailure(reason: "is conversational (lists of messages) but no chat template was given")
        }
        return ChatRendering(template: template)
    }

    private func endOfSequence() throws(EncodingFailure) -> Int {
        guard let id = tokenizer.endOfSequenceTokenId else {
            throw EncodingFailure(reason: "appendEOS is set but the tokenizer has no end-of-sequence token")
        }
        return id
    }

    private func wrap(_ failure: EncodingFailure, file: String, line: Int) -> DatasetError {
        DatasetError(file: file, line: line > 0 ? line : nil, reason: failure.reason)
    }

    /// Encodes every record of `dataset` in parallel chunks (order kept); the first failure by
    /// position is reported with the record's file and line.
    private func encodeAll<Record, Example: Sendable>(
        _ dataset: Dataset<Record>, _ one: (Record, inout TruncationReport) throws(EncodingFailure) -> Example
    ) throws(DatasetError) -> EncodedDataset<Example> {
        let records = dataset.records
        let chunks = ParallelChunks.map(count: records.count, minimumChunk: 64) { range -> Result<EncodedDataset<Example>, DatasetError> in
            var report = TruncationReport(policy: truncation)
            var examples = [Example]()
            examples.reserveCapacity(range.count)
            for index in range {
                do throws(EncodingFailure) {
                    examples.append(try one(records[index], &report))
                } catch {
                    return .failure(wrap(error, file: dataset.file, line: records[index].line))
                }
            }
            return .success(EncodedDataset(examples: examples, report: report))
        }
        var result = EncodedDataset<Example>(examples: [], report: TruncationReport(policy: truncation))
        result.examples.reserveCapacity(records.count)
        for chunk in chunks {
            let encoded = try chunk.get()
            result.examples += encoded.examples
            result.report.merge(encoded.report)
        }
        return result
    }
}
