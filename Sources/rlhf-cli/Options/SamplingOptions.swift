import ArgumentParser
import RLHF

/// How responses are sampled (TRL / HF generation names, in kebab case).
struct SamplingOptions: ParsableArguments {
    @Option(help: "Sampling temperature (0: greedy).") var temperature: Float = 1
    @Option(help: "Keep the k most likely tokens (0: all).") var topK: Int = 0
    @Option(help: "Nucleus sampling mass.") var topP: Float = 1
    @Option(help: "Most new tokens per response.") var maxNewTokens: Int = 64
    @Option(help: "Stop a response when it contains this text (repeatable).") var stop: [String] = []
    @Option(help: "Rows per sampling batch.") var generationBatchSize: Int = 16
    @Option(help: "Weights sampling reads: f32, or q8_0 (8-bit copies of the frozen weights; training stays float32).")
    var samplingWeights: SamplingWeightFormat = .f32

    func validate() throws {
        guard temperature >= 0, topP > 0, topP <= 1, topK >= 0, maxNewTokens > 0, generationBatchSize > 0 else {
            throw ValidationError("need --temperature ≥ 0, 0 < --top-p ≤ 1, --top-k ≥ 0, --max-new-tokens > 0, --generation-batch-size > 0")
        }
    }

    func parameters(seed: UInt64) -> SamplingParameters {
        SamplingParameters(temperature: temperature, topK: topK, topP: topP, maximumNewTokens: maxNewTokens, seed: seed)
    }

    func generator(samplesPerPrompt: Int, seed: UInt64) -> RolloutGenerator {
        RolloutGenerator(samplesPerPrompt: samplesPerPrompt, sampling: parameters(seed: seed), stopStrings: stop, batchRows: generationBatchSize)
    }
}

extension SamplingWeightFormat: ExpressibleByArgument {}

/// `--reward SPEC` (repeatable) and `--reward-weights`.
struct RewardOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "A reward source (repeatable; several are summed): model:DIR, ensemble:DIR[:mean|wco|uwo[:lambda=X]], rule:NAME[:key=value,…] or 'command:SHELL COMMAND'.",
        discussion: "Rules: \(ProgrammaticReward.names.joined(separator: ", "))."))
    var reward: [String] = []

    @Option(help: "Comma-separated weights of the --reward sources (default: all 1).")
    var rewardWeights: String?

    func validate() throws {
        guard !reward.isEmpty else { throw ValidationError("give at least one --reward") }
    }

    func make(policy: PretrainedModel?) throws -> any RewardSource {
        try RewardSources.make(specifications: reward, weights: rewardWeights, policy: policy)
    }
}

/// Prompt files in TRL's prompt-only format, rendered for a model.
enum PromptLoading {
    /// The prompts of a JSONL file, plain strings wrapped as user messages when the model has a
    /// chat template and `chat` is set.
    static func load(path: String, model: PretrainedModel, chat: Bool, maxPromptTokens: Int? = nil) throws -> [RolloutGenerator.Prompt] {
        try encode(PromptDataset.load(path: path).records, file: path, model: model, chat: chat, maxPromptTokens: maxPromptTokens)
    }

    /// Prompt records (e.g. built in code), likewise; `file` names them in errors.
    static func encode(
        _ records: [PromptRecord], file: String, model: PretrainedModel, chat: Bool, maxPromptTokens: Int? = nil
    ) throws -> [RolloutGenerator.Prompt] {
        guard let tokenizer = model.tokenizer else { throw ValidationError("the model has no tokenizer") }
        var records = records
        if chat && model.chatTemplate != nil {
            for index in records.indices {
                if case let .text(text) = records[index].prompt {
                    records[index].prompt = .messages([ChatMessage(role: "user", content: text)])
                }
            }
        }
        let encoder = DatasetEncoder(tokenizer: tokenizer, template: model.chatTemplate, truncation: TruncationPolicy(maxPromptTokens: maxPromptTokens))
        let encoded = try encoder.encode(PromptDataset(file: file, records: records))
        return encoded.examples.enumerated().map { index, example in
            RolloutGenerator.Prompt(id: index, tokens: example.tokens, text: example.text, fields: example.fields)
        }
    }
}
