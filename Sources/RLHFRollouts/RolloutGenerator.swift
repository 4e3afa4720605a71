import RLHFData
import RLHFModel
import RLHFTensor

/// k responses per prompt from the current policy, in one batched KV-cache pass per chunk of
/// prompts, stopping at EOS, the chat template's end-of-turn token and stop strings.
///
/// Row seeds come from (run seed, phase, prompt id, sample index) through a splitmix hash, so a
/// prompt's samples never depend on which batch, process or order produced them.
public struct RolloutGenerator: Sendable {
    /// One prompt of a phase.
    public struct Prompt: Sendable {
        /// A stable id (e.g. the record's index in its file): part of the sampling seed.
        public let id: Int
        public let tokens: [Int]
        /// The prompt record's other fields, for reward sources.
        public let fields: [String: JSONValue]
        /// The prompt as text (rendered), for reward sources.
        public let text: String

        public init(id: Int, tokens: [Int], text: String, fields: [String: JSONValue] = [:]) {
            self.id = id
            self.tokens = tokens
            self.text = text
            self.fields = fields
        }
    }

    /// A sampled, not yet scored, response.
    public struct Completion: Sendable {
        public let group: Int
        public let sample: Int
        public let prompt: Prompt
        public let tokens: [Int]
        public let text: String
        public let samplerLogProbs: [Float]
        public let finishReason: FinishReason
        /// With ``RolloutGenerator/captureBlock``: the residual entering that block at each position
        /// of prompt + response ([positions, C], the last position zero), as sampling computed it.
        public let trunkStates: [Float]?

        /// What a reward source sees of this completion.
        public var rewardInput: RewardInput {
            RewardInput(prompt: prompt.text, response: text, promptTokens: prompt.tokens, responseTokens: tokens,
                        fields: prompt.fields, endedWithEOS: finishReason == .stopToken)
        }
    }

    public var samplesPerPrompt: Int
    public var sampling: SamplingParameters
    public var stopStrings: [String]
    /// Rows per sampling batch (prompts × samples).
    public var batchRows: Int
    /// When set, completions carry the residual stream entering this block as sampling computed
    /// it, so a trainer whose lower blocks are frozen need not run them again.
    public var captureBlock: Int?

    public init(samplesPerPrompt: Int, sampling: SamplingParameters, stopStrings: [String] = [], batchRows: Int = 16) {
        precondition(samplesPerPrompt >= 1, "at least one sample per prompt")
        self.samplesPerPrompt = samplesPerPrompt
        self.sampling = sampling
        self.stopStrings = stopStrings
        self.batchRows = max(1, batchRows)
    }

    /// The seed of sample `sample` of prompt `promptId` in phase `phase`.
    public static func rowSeed(seed: UInt64, phase: Int, promptId: Int, sample: Int) -> UInt64 {
        var h = seed
        for part in [UInt64(truncatingIfNeeded: phase), UInt64(truncatingIfNeeded: promptId), UInt64(truncatingIfNeeded: sample)] {
            h = splitMix(h ^ splitMix(part &+ 0x9E37_79B9_7F4A_7C15))
        }
        return h
    }

    static func splitMix(_ x: UInt64) -> UInt64 {
        var z = x &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// `samplesPerPrompt` completions of every prompt, grouped by prompt (group = index in `prompts`).
    public func generate(policy: PretrainedModel, prompts: [Prompt], phase: Int = 0) throws -> [Completion] {
        guard let tokenizer = policy.tokenizer else { throw PretrainedModel.GenerationError.noTokenizer }
        var parameters = sampling
        if let eos = tokenizer.endOfSequenceTokenId { parameters.stopTokenIds.insert(eos) }
        if let template = policy.chatTemplate, let endOfTurn = tokenizer.specialTokenId(template.endOfTurn) {
            parameters.stopTokenIds.insert(endOfTurn)
        }
        if let empty = prompts.firstIndex(where: \.tokens.isEmpty) { throw PretrainedModel.GenerationError.emptyPrompt(index: empty) }
        let rows = prompts.indices.flatMap { group in (0..<samplesPerPrompt).map { (group: group, sample: $0) } }
        var completions = [Completion]()
        completions.reserveCapacity(rows.count)
        let stops = stopStrings
        for start in stride(from: 0, to: rows.count, by: batchRows) {
            let chunk = Array(rows[start..<min(rows.count, start + batchRows)])
            let seeds = chunk.map { Self.rowSeed(seed: sampling.seed, phase: phase, promptId: prompts[$0.group].id, sample: $0.sample) }
            let result = try policy.model.generate(
                prompts: chunk.map { prompts[$0.group].tokens }, parameters: parameters,
                stopCondition: stops.isEmpty ? nil : { _, tokens in
                    let text = tokenizer.decode(tokens)
                    return stops.contains { text.contains($0) }
                },
                rowSeeds: seeds, captureStatesEnteringBlock: captureBlock)
            for (row, slot) in chunk.enumerated() {
                var text = tokenizer.decode(result.tokens[row])
                if let cut = stops.compactMap({ text.range(of: $0)?.lowerBound }).min() { text = String(text[..<cut]) }
                completions.append(Completion(
                    group: slot.group, sample: slot.sample, prompt: prompts[slot.group], tokens: result.tokens[row], text: text,
                    samplerLogProbs: result.modelLogProbs[row], finishReason: result.finishReasons[row],
                    trunkStates: result.trunkStates?[row]))
            }
        }
        return completions
    }
}
