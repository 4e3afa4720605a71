import RLHFAlignment
import RLHFModel
import RLHFRollouts
import RLHFTensor

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The loop every online trainer shares (P3O, RLOO, GRPO, PPO, online DPO), one phase per step:
///
///     prompts of the step → sample k responses each → score (old and reference log-probs, rewards)
///     → objective.prepare → for each inner epoch, for each minibatch of whole groups:
///         forward → objective.loss → backward → clip → AdamW
///     → objective.finish → report → checkpoint
///
/// Everything random comes from the run seed and the step index (prompt order, sampling seeds per
/// prompt and sample, minibatch order), so a run resumed from a checkpoint at a step boundary
/// continues bit for bit. A NaN or ∞ anywhere (log-probs, values, rewards, loss, gradient) stops
/// the run naming the step and the tensor, or skips that update (``Parameters/skipNonFiniteUpdates``);
/// a non-finite update is never applied, so it never reaches a checkpoint.
public enum OnlineTrainer {
    public struct Parameters: Sendable, Codable, Equatable {
        /// Rollout phases (one report line and metrics record each).
        public var steps: Int = 100
        /// Prompts sampled per phase (pairs per step for P3O).
        public var promptsPerStep: Int = 16
        /// Passes over each phase's rollouts (`num_ppo_epochs`, `p3o_epochs`).
        public var epochs: Int = 4
        /// Prompt groups per optimizer update (pairs for P3O).
        public var groupsPerMinibatch: Int = 8
        public var learningRate: Float = 1e-5
        /// Linear decay to 0 over all updates (TRL's default `lr_scheduler_type="linear"`) or constant.
        public var linearDecay = false
        public var weightDecay: Float = 0
        public var maximumGradientNorm: Float = 1
        public var seed: UInt64 = 0
        public var sampling = SamplingParameters()
        public var stopStrings: [String] = []
        /// Rows per sampling batch.
        public var generationBatchSize: Int = 16
        /// Checkpoint every this many steps (0: at the end only), when a checkpoint writer is given.
        public var checkpointInterval: Int = 0
        /// Skip an update whose loss or gradient is not finite instead of stopping.
        public var skipNonFiniteUpdates = false
        /// Keep the frozen trunk's states that sampling computes (when only top blocks train)
        /// instead of running the frozen blocks again over prompt + response.
        public var reuseSampledTrunk = true
        /// The weights sampling reads: `.q8_0` samples from 8-bit copies of the frozen weights
        /// (``LlamaModel/quantizeForSampling(_:)``), faster to stream; old, reference and training
        /// log-probs stay float32 (the sampler's drift shows as `sampling/sampling_logp_difference`),
        /// and the frozen trunk is then recomputed in float32 rather than taken from sampling.
        public var samplingWeights: SamplingWeightFormat = .f32

        public init() {}

        public var optimizer: AdamW.Configuration { AdamW.Configuration(weightDecay: weightDecay, decayNormsAndBiases: false) }

        /// Optimizer updates per step.
        public var updatesPerStep: Int { epochs * ((promptsPerStep + groupsPerMinibatch - 1) / groupsPerMinibatch) }

        public var schedule: LearningRateSchedule {
            linearDecay ? .linear(warmupSteps: 0, totalSteps: steps * updatesPerStep) : .constant
        }
    }

    /// What a step reports.
    public struct StepReport: Sendable {
        public var step: Int
        public var totalSteps: Int
        /// Every metric of the step in a stable order (TRL's names where TRL has them).
        public var metrics: [Diagnostic]
        /// One (prompt, response, reward) of the step, for a look at the text.
        public var sample: (prompt: String, response: String, reward: Double)?
        public var elapsedSeconds: Double
    }

    public enum Event: Sendable {
        /// Work inside a step: `"sampling"`, `"scoring"`, `"training"`.
        case phase(step: Int, name: String)
        case step(StepReport)
        case checkpoint(step: Int, path: String)
        /// An update was skipped (``Parameters/skipNonFiniteUpdates``).
        case skippedUpdate(step: Int, reason: String)
    }

    /// The completed phases recorded in a trainer state.
    public static func completedSteps(_ state: Checkpoint.TrainerState) -> Int { Int(state.extra["phase"] ?? "") ?? 0 }

    /// The prompts of step `step` (0-based): consecutive slices of a per-pass seeded shuffle of
    /// all prompts, so every prompt is used once per pass.
    public static func prompts(step: Int, from prompts: [RolloutGenerator.Prompt], parameters: Parameters) -> [RolloutGenerator.Prompt] {
        precondition(!prompts.isEmpty, "no prompts")
        var orders = [Int: [Int]]()
        return (0..<parameters.promptsPerStep).map { k in
            let position = step * parameters.promptsPerStep + k
            let pass = position / prompts.count
            if orders[pass] == nil {
                var generator = SeededGenerator(seed: RolloutGenerator.rowSeed(seed: parameters.seed, phase: pass, promptId: -1, sample: -1))
                var order = Array(prompts.indices)
                order.shuffle(using: &generator)
                orders[pass] = order
            }
            return prompts[orders[pass]![position % prompts.count]]
        }
    }

    /// Runs from `state` until `parameters.steps` phases are done or `progress` answers `.stop`.
    /// `gold`, when given, scores every rollout beside the reward (reported as
    /// `objective/gold_scores`, never optimised). `checkpoint` writes a checkpoint of `state` and
    /// returns its path.
    public static func train<Objective: PolicyObjective>(
        policy: PretrainedModel, reference: LlamaModel, reward: any RewardSource, objective: inout Objective,
        prompts: [RolloutGenerator.Prompt], optimizer: AdamW, state: inout Checkpoint.TrainerState, parameters: Parameters,
        gold: (any RewardSource)? = nil,
        checkpoint: ((Checkpoint.TrainerState) throws -> String)? = nil, progress: (Event) -> TrainingDecision
    ) throws {
        guard !prompts.isEmpty else { throw TrainingError.notEnoughData(tokens: 0, needed: 1) }
        let model = policy.model
        try objective.restore(state.extra.filter { $0.key.hasPrefix("objective.") }
            .reduce(into: [:]) { $0[String($1.key.dropFirst("objective.".count))] = $1.value })
        let clock = ContinuousClock()
        let start = clock.now
        var generator = RolloutGenerator(samplesPerPrompt: objective.samplesPerPrompt, sampling: parameters.sampling,
                                         stopStrings: parameters.stopStrings, batchRows: parameters.generationBatchSize)
        // The frozen trunk's output, as sampling computes it, is kept for scoring and training.
        let frozen = model.trainable.tokenEmbedding ? 0 : min(model.trainable.lowestTrainableBlock, model.configuration.blockCount)
        model.quantizeForSampling(parameters.samplingWeights)
        defer { model.quantizeForSampling(.f32) }
        if frozen > 0 && parameters.reuseSampledTrunk && model.samplingWeights == nil { generator.captureBlock = frozen }
        let schedule = parameters.schedule
        while completedSteps(state) < parameters.steps {
            let step = completedSteps(state)
            let stepStart = clock.now
            var seconds = [String: Double]()

            // Rollout: k responses to each prompt of the step.
            if progress(.phase(step: step + 1, name: "sampling")) == .stop { return }
            var phaseStart = clock.now
            let stepPrompts = Self.prompts(step: step, from: prompts, parameters: parameters)
            let completions = try generator.generate(policy: policy, prompts: stepPrompts, phase: step)
            seconds["sampling"] = (clock.now - phaseStart).seconds

            // Score: old and reference log-probs in the first epoch's minibatches, rewards.
            if progress(.phase(step: step + 1, name: "scoring")) == .stop { return }
            let plan = RolloutStore.plan(
                groups: RolloutPhase.groups(of: completions), epochs: parameters.epochs,
                groupsPerMinibatch: parameters.groupsPerMinibatch,
                seed: RolloutGenerator.rowSeed(seed: parameters.seed, phase: step, promptId: -2, sample: -2))
            let phase = try RolloutPhase(completions: completions, plan: plan, policy: model, reference: reference,
                                         reward: reward, values: objective.usesValues, sampledTrunkBlock: generator.captureBlock)
            for (name, value) in phase.seconds { seconds[name] = value }
            try NonFiniteCheck.rollouts(phase.rollouts, values: phase.values, step: step + 1)
            var metrics = rolloutMetrics(phase.rollouts) + phase.rewardDiagnostics
            if let gold {
                // A gold reward is only watched, never optimised (Gao et al.'s gold-vs-proxy view).
                phaseStart = clock.now
                let goldScores = Statistics.meanAndStandardDeviation(try gold.checkedScores(for: completions.map(\.rewardInput)))
                seconds["gold"] = (clock.now - phaseStart).seconds
                metrics += [Diagnostic(name: "objective/gold_scores", value: goldScores.mean),
                            Diagnostic(name: "objective/gold_scores_std", value: goldScores.standardDeviation)]
            }
            metrics += try objective.prepare(phase.rollouts, values: phase.values)

            // Updates: epochs × minibatches, one optimizer step each.
            if progress(.phase(step: step + 1, name: "training")) == .stop { return }
            phaseStart = clock.now
            var lossDiagnostics = DiagnosticAverage()
            var skipped = 0
            for (epoch, minibatches) in phase.plan.enumerated() {
                let epochStart = clock.now
                for indices in minibatches {
                    let learningRate = schedule.learningRate(step: state.step, baseRate: parameters.learningRate)
                    model.zeroGradients()
                    let (spans, output) = try phase.forward(policy: model, indices: indices, values: objective.usesValues)
                    let logProbs = spans.gather(output.tokenLogProbs).map { $0.map(Double.init) }
                    let values = objective.usesValues ? spans.gatherPreceding(output.values).map { $0.map(Double.init) } : nil
                    let minibatch = PolicyMinibatch(indices: indices, rollouts: indices.map { phase.rollouts[$0] },
                                                    logProbs: logProbs, values: values, epoch: epoch)
                    do {
                        try NonFiniteCheck.tokens(logProbs, tensor: "policy log-probs", step: step + 1)
                        if let values { try NonFiniteCheck.tokens(values, tensor: "values", step: step + 1) }
                        let loss = objective.loss(minibatch)
                        try NonFiniteCheck.scalar(loss.value, tensor: "\(objective.name) loss", step: step + 1)
                        try NonFiniteCheck.tokens(loss.logProbGradients, tensor: "loss gradient", step: step + 1)
                        try model.backward(
                            tokenLogProbGradients: spans.scatter(loss.logProbGradients.map { $0.map(Float.init) }),
                            valueGradients: loss.valueGradients.map { spans.scatterPreceding($0.map { $0.map(Float.init) }) })
                        let norm = try OptimizerStep.apply(
                            model, optimizer: optimizer, learningRate: learningRate,
                            maximumGradientNorm: parameters.maximumGradientNorm, step: step + 1, loss: loss.value)
                        state.step += 1
                        lossDiagnostics.add(loss.diagnostics + [
                            Diagnostic(name: "grad_norm", value: Double(norm)),
                            Diagnostic(name: "learning_rate", value: Double(learningRate)),
                        ])
                    } catch let error as TrainingError where parameters.skipNonFiniteUpdates {
                        skipped += 1
                        model.zeroGradients()
                        if progress(.skippedUpdate(step: step + 1, reason: error.description)) == .stop { return }
                    }
                }
                seconds["training_epoch_\(epoch + 1)"] = (clock.now - epochStart).seconds
            }
            seconds["training"] = (clock.now - phaseStart).seconds
            metrics += lossDiagnostics.averages
            if parameters.skipNonFiniteUpdates { metrics.append(Diagnostic(name: "skipped_updates", value: Double(skipped))) }
            metrics += try objective.finish(phase.rollouts)

            state.extra["phase"] = String(step + 1)
            for (key, value) in objective.checkpointState { state.extra["objective." + key] = value }
            seconds["step"] = (clock.now - stepStart).seconds
            metrics.append(Diagnostic(name: "episode", value: Double((step + 1) * completions.count)))
            for name in ["sampling", "trunk", "old_logprobs", "reference_logprobs", "reward", "gold", "training", "step"] {
                if let value = seconds[name] { metrics.append(Diagnostic(name: "time/" + name, value: value)) }
            }
            for epoch in 0..<parameters.epochs {
                if let value = seconds["training_epoch_\(epoch + 1)"] { metrics.append(Diagnostic(name: "time/training_epoch_\(epoch + 1)", value: value)) }
            }
            let first = phase.rollouts.first
            var decision = progress(.step(StepReport(
                step: step + 1, totalSteps: parameters.steps, metrics: metrics,
                sample: first.map { (completions[0].prompt.text, $0.responseText, $0.reward) },
                elapsedSeconds: (clock.now - start).seconds)))
            let last = step + 1 == parameters.steps
            if let checkpoint,
               last || decision == .stop || (parameters.checkpointInterval > 0 && (step + 1) % parameters.checkpointInterval == 0) {
                let path = try checkpoint(state)
                if progress(.checkpoint(step: step + 1, path: path)) == .stop { decision = .stop }
            }
            if decision == .stop { return }
        }
    }

    /// Rollout metrics every online trainer reports (TRL's names): mean score, KL (k1 sums of
    /// rollout-time vs reference log-probs, nats per sequence and per token; `objective/kl_k3`, the
    /// k3 sum per sequence, never negative), the sampled entropy
    /// estimate, lengths, the share without a stop token, and the sampler-vs-training log-prob gap.
    public static func rolloutMetrics(_ rollouts: [Rollout]) -> [Diagnostic] {
        let n = Double(rollouts.count)
        let tokens = Double(rollouts.reduce(0) { $0 + $1.length })
        let kl = rollouts.reduce(0) { $0 + $1.sequenceLogRatio }
        let entropy = rollouts.reduce(0) { $0 - $1.oldSequenceLogProb }
        var gap = 0.0, gapMax = 0.0
        for rollout in rollouts {
            for (a, b) in zip(rollout.samplerLogProbs, rollout.oldLogProbs) {
                let d = abs(Double(a) - Double(b))
                gap += d
                gapMax = max(gapMax, d)
            }
        }
        let lengths = rollouts.map(\.length)
        let scores = Statistics.meanAndStandardDeviation(rollouts.map(\.reward))
        return [
            Diagnostic(name: "objective/scores", value: scores.mean),
            Diagnostic(name: "objective/scores_std", value: scores.standardDeviation),
            Diagnostic(name: "objective/kl", value: kl / n),
            Diagnostic(name: "objective/kl_per_token", value: kl / max(1, tokens)),
            Diagnostic(name: "objective/kl_k3", value: rollouts.reduce(0) { $0 + KLEstimator.k3.sequence(policy: $1.oldLogProbs, reference: $1.referenceLogProbs) } / n),
            Diagnostic(name: "objective/entropy", value: entropy / n),
            Diagnostic(name: "completions/mean_length", value: tokens / n),
            Diagnostic(name: "completions/min_length", value: Double(lengths.min() ?? 0)),
            Diagnostic(name: "completions/max_length", value: Double(lengths.max() ?? 0)),
            Diagnostic(name: "completions/clipped_ratio", value: Double(rollouts.filter { !$0.endedWithEOS }.count) / n),
            Diagnostic(name: "sampling/sampling_logp_difference", value: gap / max(1, tokens)),
            Diagnostic(name: "sampling/sampling_logp_difference_max", value: gapMax),
        ]
    }
}

/// Averages diagnostics by name over minibatches, keeping the order of first appearance.
struct DiagnosticAverage {
    private var order = [String]()
    private var sums = [String: (Double, Int)]()

    mutating func add(_ diagnostics: [Diagnostic]) {
        for d in diagnostics {
            if sums[d.name] == nil { order.append(d.name); sums[d.name] = (0, 0) }
            sums[d.name]!.0 += d.value
            sums[d.name]!.1 += 1
        }
    }

    var averages: [Diagnostic] { order.map { Diagnostic(name: $0, value: sums[$0]!.0 / Double(sums[$0]!.1)) } }
}
