import Foundation
import RLHFAlignment
import RLHFModel
import RLHFRollouts
import RLHFTensor
import RLHFTokenizer
import RLHFTraining
import Testing
import _RLHFTestSupport

/// The online loop on a tiny random byte-level Llama: exact on-policy ratios, P3O's per-prompt
/// shift invariance end to end, NaN guards, and resuming bit for bit.
@Suite("Online trainer")
struct OnlineTrainerTests {
    static let prompts = ["Hello", "ab", "The quick brown", "x", "fox", "zz top"].enumerated().map { index, text in
        RolloutGenerator.Prompt(id: index, tokens: [256] + ByteTokenizer().encode(text), text: text, fields: ["shift": .number(Double(index))])
    }

    /// Rewards even token ids (a quarter point each); `shift` adds a per-prompt constant (exactly representable).
    struct VowelReward: RewardSource {
        var shift: Double = 0
        var name: String { "vowels" }
        func scores(for inputs: [RewardInput]) throws -> [Double] {
            inputs.map { input in
                let even = input.responseTokens.filter { $0 % 2 == 0 }.count
                let offset: Double
                if case let .number(n)? = input.fields["shift"] { offset = shift * (n - 2.5) * 4 } else { offset = 0 }
                return Double(even) / 4 + offset
            }
        }
    }

    struct ConstantReward: RewardSource {
        var value: Double
        var name: String { "constant" }
        func scores(for inputs: [RewardInput]) throws -> [Double] { inputs.map { _ in value } }
    }

    static func parameters(steps: Int = 2, epochs: Int = 2, groups: Int = 2, learningRate: Float = 3e-3) -> OnlineTrainer.Parameters {
        var p = OnlineTrainer.Parameters()
        p.steps = steps
        p.promptsPerStep = 4
        p.epochs = epochs
        p.groupsPerMinibatch = groups
        p.learningRate = learningRate
        p.sampling = SamplingParameters(temperature: 1, maximumNewTokens: 10, seed: 11)
        p.generationBatchSize = 8
        return p
    }

    static func policy(trainableBlocks: Int = 1) -> PretrainedModel {
        let policy = TinyByteModel.pretrained(seed: 3)
        policy.model.trainable = .topBlocks(trainableBlocks, of: 2)
        return policy
    }

    /// Trains and returns the final parameters and every step report.
    static func run(
        objective: P3OObjective.Parameters = .init(), parameters: OnlineTrainer.Parameters = Self.parameters(),
        reward: any RewardSource = VowelReward(), trainableBlocks: Int = 1
    ) throws -> (weights: [Float], reports: [OnlineTrainer.StepReport]) {
        var p3o = P3OObjective(parameters: objective)
        return try run(&p3o, parameters: parameters, reward: reward, trainableBlocks: trainableBlocks)
    }

    /// Trains with any objective (a value head when it uses values).
    static func run<Objective: PolicyObjective>(
        _ objective: inout Objective, parameters: OnlineTrainer.Parameters = Self.parameters(),
        reward: any RewardSource = VowelReward(), trainableBlocks: Int = 1
    ) throws -> (weights: [Float], reports: [OnlineTrainer.StepReport]) {
        let policy = TinyByteModel.pretrained(seed: 3, scalarHead: objective.usesValues)
        policy.model.trainable = .topBlocks(trainableBlocks, of: 2)
        if objective.usesValues { policy.model.initializeScalarHead(seed: 9) }
        let reference = TinyByteModel.pretrained(seed: 3).model
        let optimizer = AdamW(model: policy.model, configuration: parameters.optimizer)
        var state = Checkpoint.TrainerState(step: 0, generator: SeededGenerator(seed: 0), trainable: policy.model.trainable)
        var reports = [OnlineTrainer.StepReport]()
        try OnlineTrainer.train(
            policy: policy, reference: reference, reward: reward, objective: &objective, prompts: Self.prompts,
            optimizer: optimizer, state: &state, parameters: parameters
        ) { event in
            if case let .step(report) = event { reports.append(report) }
            return .more
        }
        return (policy.model.parameters.array, reports)
    }

    @Test("on-policy (one epoch, one minibatch) every ratio is exactly 1, and V1 and V2 give the same update")
    func onPolicyExact() throws {
        let parameters = Self.parameters(steps: 1, epochs: 1, groups: 4)
        var v1 = P3OObjective.Parameters()
        v1.variant = .separateClipping
        let joint = try Self.run(parameters: parameters)
        let separate = try Self.run(objective: v1, parameters: parameters)
        let metrics = joint.reports[0].metrics
        #expect(metrics.value(named: "p3o/ratio_min") == 1 && metrics.value(named: "p3o/ratio_max") == 1)
        #expect(metrics.value(named: "policy/clipfrac_avg") == 0)
        let same = joint.weights == separate.weights, moved = joint.weights != Self.policy().model.parameters.array
        #expect(same && moved)
        // Off-policy, once clipping is active (more epochs, a larger step), the variants part.
        let offPolicy = Self.parameters(steps: 1, epochs: 4, groups: 2, learningRate: 4e-3)
        let jointOff = try Self.run(parameters: offPolicy), separateOff = try Self.run(objective: v1, parameters: offPolicy)
        #expect((jointOff.reports[0].metrics.value(named: "policy/clipfrac_avg") ?? 0) > 0)
        let parted = jointOff.weights != separateOff.weights
        #expect(parted)
    }

    @Test("a per-prompt reward shift leaves P3O's weights bit-identical (clips active, several steps)")
    func shiftInvariance() throws {
        let parameters = Self.parameters(steps: 2, epochs: 4, groups: 2, learningRate: 3e-2)
        let plain = try Self.run(parameters: parameters, reward: VowelReward(shift: 0))
        let shifted = try Self.run(parameters: parameters, reward: VowelReward(shift: 64))
        let identical = plain.weights == shifted.weights, moved = plain.weights != Self.policy().model.parameters.array
        #expect(identical && moved)
        #expect(plain.reports.map { $0.metrics.value(named: "p3o/delta_mean") } == shifted.reports.map { $0.metrics.value(named: "p3o/delta_mean") })
        #expect(plain.reports.last!.metrics.value(named: "objective/scores") != shifted.reports.last!.metrics.value(named: "objective/scores"))
        // Some clipping happened in the off-policy minibatches, so the invariance is not vacuous.
        #expect(plain.reports.contains { ($0.metrics.value(named: "policy/clipfrac_avg") ?? 0) > 0 })
    }

    @Test("a gold reward is scored beside the proxy and never changes the update")
    func goldIsWatchedOnly() throws {
        func train(gold: (any RewardSource)?) throws -> ([Float], [OnlineTrainer.StepReport]) {
            let policy = Self.policy()
            var objective = P3OObjective(parameters: .init())
            let parameters = Self.parameters(steps: 1)
            var state = Checkpoint.TrainerState(step: 0, generator: SeededGenerator(seed: 0), trainable: policy.model.trainable)
            var reports = [OnlineTrainer.StepReport]()
            try OnlineTrainer.train(
                policy: policy, reference: TinyByteModel.pretrained(seed: 3).model, reward: VowelReward(), objective: &objective,
                prompts: Self.prompts, optimizer: AdamW(model: policy.model, configuration: parameters.optimizer), state: &state,
                parameters: parameters, gold: gold) { event in
                if case let .step(report) = event { reports.append(report) }
                return .more
            }
            return (policy.model.parameters.array, reports)
        }
        let watched = try train(gold: ConstantReward(value: 0.25)), alone = try train(gold: nil)
        let same = watched.0 == alone.0
        #expect(same)
        #expect(watched.1[0].metrics.value(named: "objective/gold_scores") == 0.25)
        #expect(alone.1[0].metrics.value(named: "objective/gold_scores") == nil)
    }

    @Test("frozen-trunk reuse gives the same rollouts as whole forwards, and a step reports every phase")
    func metricsAndTrunk() throws {
        let run = try Self.run(parameters: Self.parameters(steps: 1))
        let metrics = run.reports[0].metrics
        for name in ["objective/scores", "objective/kl", "objective/rlhf_reward", "completions/mean_length", "policy/clipfrac_avg",
                     "sampling/sampling_logp_difference", "p3o/reward_diff_mean", "p3o/logratio_chosen", "grad_norm", "time/sampling",
                     "time/reference_logprobs", "time/training_epoch_2", "episode"] {
            #expect(metrics.value(named: name) != nil, "\(name)")
        }
        // The first step's policy equals the reference: KL is exactly 0 (shared trunk, same top).
        #expect(metrics.value(named: "objective/kl") == 0)
        #expect(metrics.value(named: "sampling/sampling_logp_difference")! < 1e-4)
    }

    @Test("a non-finite loss stops the run naming step and tensor, or skips the update untouched")
    func nonFiniteGuard() throws {
        struct Exploding: RewardSource {
            var name: String { "exploding" }
            func scores(for inputs: [RewardInput]) throws -> [Double] { inputs.enumerated().map { i, _ in i % 2 == 0 ? 1e308 : -1e308 } }
        }
        #expect {
            _ = try Self.run(parameters: Self.parameters(steps: 1), reward: Exploding())
        } throws: { error in
            guard case let .nonFiniteTensor(step, tensor, _)? = error as? TrainingError else { return false }
            return step == 1 && tensor == "p3o loss"
        }
        var skipping = Self.parameters(steps: 1)
        skipping.skipNonFiniteUpdates = true
        let skipped = try Self.run(parameters: skipping, reward: Exploding())
        let untouched = skipped.weights == Self.policy().model.parameters.array
        #expect(untouched)
        #expect(skipped.reports[0].metrics.value(named: "skipped_updates") == 4)
    }

    @Test("resuming from a checkpoint continues bit for bit")
    func resume() throws {
        let parameters = Self.parameters(steps: 3)
        let uninterrupted = try Self.run(parameters: parameters)

        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("online-resume-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let policy = Self.policy()
        let reference = TinyByteModel.pretrained(seed: 3).model
        var objective = P3OObjective(parameters: .init())
        var state = Checkpoint.TrainerState(step: 0, generator: SeededGenerator(seed: 0), trainable: policy.model.trainable)
        let optimizer = AdamW(model: policy.model, configuration: parameters.optimizer)
        var first = parameters
        first.steps = 1
        try OnlineTrainer.train(
            policy: policy, reference: reference, reward: VowelReward(), objective: &objective, prompts: Self.prompts,
            optimizer: optimizer, state: &state, parameters: first,
            checkpoint: { state in
                try Checkpoint.save(model: policy.model, optimizer: optimizer, state: state, parameters: parameters, to: directory)
                return directory
            }) { _ in .more }

        let loaded = try Checkpoint.load(from: directory, optimizer: parameters.optimizer)
        #expect(OnlineTrainer.completedSteps(loaded.state) == 1)
        let resumed = PretrainedModel(model: loaded.model, tokenizer: ByteTokenizer(), chatTemplate: nil)
        var resumedState = loaded.state
        var freshObjective = P3OObjective(parameters: .init())
        try OnlineTrainer.train(
            policy: resumed, reference: reference, reward: VowelReward(), objective: &freshObjective, prompts: Self.prompts,
            optimizer: loaded.optimizer, state: &resumedState, parameters: parameters) { _ in .more }
        let identical = resumed.model.parameters.array == uninterrupted.weights
        #expect(identical)
    }

    @Test("on-policy P3O V1 gives RLOO's k = 2 gradient with the KL folded into the reward; off-policy they part")
    func p3oMatchesRLOOOnPolicy() throws {
        var v1 = P3OObjective.Parameters()
        v1.variant = .separateClipping
        var rlooParameters = RLOOObjective.Parameters()
        rlooParameters.beta = v1.beta
        // On-policy: one epoch, one minibatch; the weights after one update agree to float rounding.
        let onPolicy = Self.parameters(steps: 1, epochs: 1, groups: 4)
        var rloo = RLOOObjective(parameters: rlooParameters)
        let p3o = try Self.run(objective: v1, parameters: onPolicy).weights
        let leaveOneOut = try Self.run(&rloo, parameters: onPolicy).weights
        #expect(zip(p3o, leaveOneOut).allSatisfy { abs($0 - $1) <= 1e-6 })
        // The same minibatch off-policy: V1 weighs each response by its partner's clipped ratio, RLOO does not.
        let rollouts = (0..<4).map { i in
            Rollout(group: i / 2, sample: i % 2, promptTokens: [256, 1], responseTokens: [65, 66], responseText: "AB",
                    finishReason: .stopToken, oldLogProbs: [-1, -1.5], samplerLogProbs: [-1, -1.5],
                    referenceLogProbs: [-1.2, -1.4], reward: [1.0, 0.25, -0.5, 0.75][i])
        }
        let current: [[Double]] = [[-0.9, -1.4], [-1.1, -1.6], [-1.0, -1.45], [-0.95, -1.5]]
        let minibatch = PolicyMinibatch(indices: [0, 1, 2, 3], rollouts: rollouts, logProbs: current)
        let exact = PolicyMinibatch(indices: [0, 1, 2, 3], rollouts: rollouts, logProbs: rollouts.map { $0.oldLogProbs.map(Double.init) })
        var leave = RLOOObjective(parameters: rlooParameters)
        _ = try leave.prepare(rollouts, values: nil)
        var oldKL = v1
        oldKL.klFromCurrentPolicy = false  // RLOO holds the rollout's KL fixed
        let separate = P3OObjective(parameters: oldKL)
        var joint = oldKL
        joint.variant = .jointClipping
        let agreeOnPolicy = zip(separate.loss(exact).logProbGradients.joined(), leave.loss(exact).logProbGradients.joined())
            .allSatisfy { abs($0 - $1) <= 1e-12 }
        #expect(agreeOnPolicy)
        let g1 = Array(separate.loss(minibatch).logProbGradients.joined())
        let g2 = Array(P3OObjective(parameters: joint).loss(minibatch).logProbGradients.joined())
        let gr = Array(leave.loss(minibatch).logProbGradients.joined())
        #expect(zip(g1, gr).contains { abs($0 - $1) > 1e-3 } && zip(g2, gr).contains { abs($0 - $1) > 1e-3 })
    }

    @Test("PPO (value head, GAE, adaptive KL) is not shift invariant: the negative control")
    func ppoNegativeControl() throws {
        var settings = PPOObjective.Parameters()
        settings.klTarget = 1
        settings.klHorizon = 100
        let parameters = Self.parameters(steps: 2, epochs: 2, groups: 2, learningRate: 3e-3)
        var plainObjective = try PPOObjective(parameters: settings), shiftedObjective = try PPOObjective(parameters: settings)
        let plain = try Self.run(&plainObjective, parameters: parameters, reward: VowelReward(shift: 0))
        let shifted = try Self.run(&shiftedObjective, parameters: parameters, reward: VowelReward(shift: 64))
        let differs = plain.weights != shifted.weights
        #expect(differs)
        for name in ["loss/value_avg", "val/clipfrac_avg", "objective/kl_coef", "policy/approxkl_avg"] {
            #expect(plain.reports[0].metrics.value(named: name) != nil, "\(name)")
        }
        // The adaptive controller moved β (KL 0 < target 1 at the first step: β shrinks).
        #expect(plainObjective.controller.beta < settings.beta)
    }

    @Test("GRPO runs on groups of 4 and reports TRL's group statistics")
    func grpoRuns() throws {
        var settings = GRPOObjective.Parameters()
        settings.samplesPerPrompt = 4
        settings.beta = 0.04
        var grpo = GRPOObjective(parameters: settings)
        let run = try Self.run(&grpo, parameters: Self.parameters(steps: 1, epochs: 1, groups: 2))
        let metrics = run.reports[0].metrics
        #expect(metrics.value(named: "frac_reward_zero_std") != nil && metrics.value(named: "kl") != nil)
        #expect(metrics.value(named: "episode") == 16)
    }
}
