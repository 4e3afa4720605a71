import RLHFModel

/// One scored sample of a rollout phase: immutable once made. A P3O pair or a GRPO group shares
/// `group` (the prompt's index in the phase); `sample` numbers the responses within it.
public struct Rollout: Sendable, Codable, Equatable {
    public let group: Int
    public let sample: Int
    public let promptTokens: [Int]
    /// Sampled tokens, a final stop token (EOS / end-of-turn) included.
    public let responseTokens: [Int]
    /// The decoded response (special tokens dropped, cut before a stop string).
    public let responseText: String
    public let finishReason: FinishReason
    /// Teacher-forced log-probs of the response tokens under the rollout-time policy.
    public let oldLogProbs: [Float]
    /// The sampler's own log-probs of the same tokens (decode path), kept to report the
    /// difference from `oldLogProbs`.
    public let samplerLogProbs: [Float]
    /// Teacher-forced log-probs under the reference model.
    public let referenceLogProbs: [Float]
    /// The reward the losses use.
    public let reward: Double

    /// Whether the response ended with a stop token (EOS or end-of-turn).
    public var endedWithEOS: Bool { finishReason == .stopToken }
    public var length: Int { responseTokens.count }
    /// Σ_t (old − reference): the k1 estimate of this sample's KL, in nats per sequence.
    public var sequenceLogRatio: Double { zip(oldLogProbs, referenceLogProbs).reduce(0) { $0 + Double($1.0 - $1.1) } }

    public init(group: Int, sample: Int, promptTokens: [Int], responseTokens: [Int], responseText: String,
                finishReason: FinishReason, oldLogProbs: [Float], samplerLogProbs: [Float], referenceLogProbs: [Float], reward: Double) {
        self.group = group
        self.sample = sample
        self.promptTokens = promptTokens
        self.responseTokens = responseTokens
        self.responseText = responseText
        self.finishReason = finishReason
        self.oldLogProbs = oldLogProbs
        self.samplerLogProbs = samplerLogProbs
        self.referenceLogProbs = referenceLogProbs
        self.reward = reward
    }
}
