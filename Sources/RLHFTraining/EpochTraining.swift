/// The settings every epoch-based trainer shares (SFT on examples, reward models, DPO, KTO):
/// passes over the data, batch size, the linear warm-up/decay schedule, AdamW's weight decay,
/// gradient clipping, the evaluation and checkpoint intervals and the seed (TRL's
/// `TrainingArguments` names in the CLI). Each trainer's parameters hold one as `training`,
/// next to the settings of its own loss.
///
/// ```swift
/// var training = EpochTraining(learningRate: 1e-5)
/// training.epochs = 3
/// let schedule = training.schedule(examples: pairs.count)
/// ```
public struct EpochTraining: Sendable, Codable, Equatable {
    /// Passes over the training data (TRL `num_train_epochs`).
    public var epochs: Int
    /// Examples (pairs for preference data) per optimizer step (TRL `per_device_train_batch_size`).
    public var batchSize: Int
    /// Peak learning rate (TRL `learning_rate`; each trainer has its own default).
    public var learningRate: Float
    /// Linear warm-up as a fraction of all steps, then linear decay to 0 (TRL `warmup_ratio`,
    /// with TRL's default linear schedule).
    public var warmupRatio: Double
    /// Decoupled (AdamW) weight decay, not applied to norm weights (TRL `weight_decay`, default 0).
    public var weightDecay: Float
    /// Global gradient-norm clip (TRL `max_grad_norm`, default 1; ≤ 0: none).
    public var maximumGradientNorm: Float
    /// Evaluate on the held-out data every this many steps (TRL `eval_steps`; 0: only at the
    /// end, and before the first step where the trainer evaluates there).
    public var evaluationInterval: Int
    /// Checkpoint every this many steps (TRL `save_steps`; 0: at the end only), when the
    /// trainer is given a checkpoint writer (the reward trainer writes none).
    public var checkpointInterval: Int
    /// Seed of the data order (TRL `seed`); each trainer derives its epochs' orders from it.
    public var seed: UInt64

    /// TRL's defaults except `learningRate`, which each trainer sets to its own.
    public init(
        epochs: Int = 1, batchSize: Int = 8, learningRate: Float, warmupRatio: Double = 0, weightDecay: Float = 0,
        maximumGradientNorm: Float = 1, evaluationInterval: Int = 0, checkpointInterval: Int = 0, seed: UInt64 = 0
    ) {
        self.epochs = epochs
        self.batchSize = batchSize
        self.learningRate = learningRate
        self.warmupRatio = warmupRatio
        self.weightDecay = weightDecay
        self.maximumGradientNorm = maximumGradientNorm
        self.evaluationInterval = evaluationInterval
        self.checkpointInterval = checkpointInterval
        self.seed = seed
    }

    /// Optimizer steps of the whole run over `examples` training examples (or pairs): every
    /// epoch ends with a partial batch when `batchSize` does not divide `examples`.
    public func totalSteps(examples: Int) -> Int { epochs * ((examples + batchSize - 1) / batchSize) }

    /// Linear warm-up over ``warmupRatio`` of the steps (rounded up), then linear decay to 0 at
    /// the last step (TRL's default schedule).
    public func schedule(examples: Int) -> LearningRateSchedule {
        let total = totalSteps(examples: examples)
        return .linear(warmupSteps: Int((warmupRatio * Double(total)).rounded(.up)), totalSteps: total)
    }

    /// AdamW with ``weightDecay`` (norm weights not decayed, as Hugging Face's Trainer does).
    public var optimizer: AdamW.Configuration { AdamW.Configuration(weightDecay: weightDecay, decayNormsAndBiases: false) }
}
