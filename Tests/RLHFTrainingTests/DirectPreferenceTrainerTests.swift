import Foundation
import RLHFAlignment
import RLHFData
import RLHFModel
import RLHFRollouts
import RLHFTensor
import RLHFTokenizer
import RLHFTraining
import Testing
import _RLHFTestSupport

/// Offline DPO (and family) and KTO on a tiny random byte-level Llama: the value at
/// initialisation, learning a rule, the frozen trunk shared with the reference, RPO at η = 0,
/// exact resumption, NaN guards and KTO's direction of travel.
@Suite("Direct preference trainer (DPO family, KTO)", .serialized)
struct DirectPreferenceTrainerTests {
    static let padding = 258

    /// The starting model; the same seed gives a bit-identical separate copy.
    static func model(seed: UInt64 = 5, trainableBlocks: Int? = 1) -> LlamaModel {
        let model = TinyByteModel.pretrained(seed: seed).model
        if let trainableBlocks { model.trainable = .topBlocks(trainableBlocks, of: 2) }
        return model
    }

    /// Pairs whose chosen completion contains "yes" and rejected one does not (EOS-terminated).
    static func rulePairs(count: Int, seed: UInt64) -> [TokenizedPair] {
        var generator = SeededGenerator(seed: seed)
        let words = ["cat", "sun", "red", "box", "tree", "blue", "map", "cup"]
        func sentence(_ withKeyword: Bool) -> [Int] {
            var parts = (0..<3).map { _ in words[Int(generator.next() % UInt64(words.count))] }
            if withKeyword { parts.insert("yes", at: Int(generator.next() % 4)) }
            return ByteTokenizer().encode(parts.joined(separator: " ")) + [257]
        }
        return (0..<count).map { _ in
            TokenizedPair(prompt: [256] + ByteTokenizer().encode("Q: "), chosen: sentence(true), rejected: sentence(false))
        }
    }

    static func parameters(epochs: Int = 1, batchSize: Int = 4, learningRate: Float = 3e-3) -> DirectPreferenceTrainer.Parameters {
        var p = DirectPreferenceTrainer.Parameters()
        p.training.epochs = epochs
        p.training.batchSize = batchSize
        p.training.learningRate = learningRate
        return p
    }

    /// Trains a fresh policy on `pairs`; returns its weights and every event.
    static func run(
        _ pairs: [TokenizedPair], parameters: DirectPreferenceTrainer.Parameters, heldOut: [TokenizedPair] = []
    ) throws -> (weights: [Float], events: [DirectPreferenceTrainer.Progress]) {
        let policy = model()
        let training = try DirectPreferenceTrainer.prepare(pairs, policy: policy, reference: nil, paddingToken: padding,
                                                           batchSize: parameters.training.batchSize)
        let held = try DirectPreferenceTrainer.prepare(heldOut, policy: policy, reference: nil, paddingToken: padding,
                                                       batchSize: parameters.training.batchSize)
        var state = DirectPreferenceTrainer.initialState(for: policy, parameters: parameters)
        var events = [DirectPreferenceTrainer.Progress]()
        try DirectPreferenceTrainer.train(
            model: policy, optimizer: AdamW(model: policy, configuration: parameters.training.optimizer), state: &state,
            training: training, heldOut: held, parameters: parameters
        ) { events.append($0); return .more }
        return (policy.parameters.array, events)
    }

    @Test("at initialisation the loss is log 2 and the margin 0")
    func initialValue() throws {
        let pairs = Self.rulePairs(count: 12, seed: 1)
        let (_, events) = try Self.run(pairs, parameters: Self.parameters(), heldOut: Self.rulePairs(count: 6, seed: 2))
        guard case let .evaluation(step, initial)? = events.first else { Issue.record("no initial evaluation"); return }
        #expect(step == 0 && initial.count == 6)
        #expect(abs(initial.loss - log(2)) < 1e-12, "eval_loss \(initial.loss)")
        #expect(initial.value(named: "rewards/margins") == 0 && initial.value(named: "rewards/chosen") == 0)
        #expect(initial.value(named: "rewards/accuracies") == 0)   // ties count as wrong
        for name in ["eval_loss", "rewards/chosen", "rewards/rejected", "rewards/accuracies", "rewards/margins", "logps/chosen", "logps/rejected"] {
            #expect(initial.namedValues[name] != nil, "\(name)")
        }
        // The first step's batch runs in another composition than the reference did: log 2 up to rounding.
        guard case let .step(first, diagnostics) = events[1] else { Issue.record("no first step"); return }
        #expect(abs(first.loss - log(2)) < 1e-5 && abs(diagnostics.value(named: "rewards/margins") ?? 1) < 1e-5)
    }

    @Test("a few epochs raise the training margin and accuracy")
    func learnsARule() throws {
        let pairs = Self.rulePairs(count: 32, seed: 3)
        var parameters = Self.parameters(epochs: 4, batchSize: 8)
        parameters.beta = 0.5
        let (_, events) = try Self.run(pairs, parameters: parameters, heldOut: pairs)
        let evaluations = events.compactMap { event -> DirectPreferenceTrainer.Evaluation? in
            if case let .evaluation(_, e) = event { return e } else { return nil }
        }
        let steps = events.compactMap { event -> StepMetrics? in if case let .step(m, _) = event { return m } else { return nil } }
        #expect(steps.count == 16 && evaluations.count == 2)
        let before = try #require(evaluations.first), after = try #require(evaluations.last)
        let margin = after.value(named: "rewards/margins") ?? 0, accuracy = after.value(named: "rewards/accuracies") ?? 0
        #expect(margin > 0.5, "training margin \(before.value(named: "rewards/margins") ?? .nan) → \(margin)")
        #expect(accuracy >= 0.9, "training accuracy \(accuracy)")
        #expect(after.loss < before.loss - 0.2, "loss \(before.loss) → \(after.loss)")
    }

    @Test("reference log-probs from the shared frozen trunk equal whole forward passes (exactly in the same batch)")
    func trunkReuse() throws {
        let pairs = Self.rulePairs(count: 10, seed: 4)
        let policy = Self.model()
        let copy = Self.model()
        func prepared(reference: LlamaModel?, batchSize: Int, reuse: Bool) throws -> DirectPreferenceTrainer.PreparedPairs {
            try DirectPreferenceTrainer.prepare(pairs, policy: policy, reference: reference, paddingToken: Self.padding,
                                                batchSize: batchSize, reuseTrunk: reuse)
        }
        // One batch holding every row: the trunk's batch is the reference's, bit for bit.
        let whole = try prepared(reference: copy, batchSize: 10, reuse: false)
        let shared = try prepared(reference: copy, batchSize: 10, reuse: true)
        #expect(whole.trunk == nil && !whole.referenceUsedTrunk)
        #expect(shared.trunk?.block == 1 && shared.referenceUsedTrunk)
        #expect(shared.reference == whole.reference)
        // The policy itself as the reference: the same numbers.
        #expect(try prepared(reference: nil, batchSize: 10, reuse: true).reference == whole.reference)
        // Other batches (the trunk is computed in batches of distinct rows): equal up to rounding.
        let small = try prepared(reference: copy, batchSize: 3, reuse: true)
        let smallWhole = try prepared(reference: copy, batchSize: 3, reuse: false)
        for (a, b) in zip(small.reference.chosen + small.reference.rejected, whole.reference.chosen + whole.reference.rejected) {
            #expect(abs(a - b) <= 1e-5 * max(1, abs(b)), "\(a) vs \(b)")
        }
        for (a, b) in zip(small.reference.chosen + small.reference.rejected, smallWhole.reference.chosen + smallWhole.reference.rejected) {
            #expect(abs(a - b) <= 1e-5 * max(1, abs(b)), "\(a) vs \(b)")
        }
        // A reference whose lower block differs runs whole, with its own numbers.
        let other = Self.model(seed: 9)
        let separate = try prepared(reference: other, batchSize: 10, reuse: true)
        #expect(!separate.referenceUsedTrunk && separate.trunk != nil)
        #expect(separate.reference == (try DirectPreferenceTrainer.logProbs(model: other, pairs: pairs, trunk: nil, paddingToken: Self.padding, batchSize: 10)))
        #expect(separate.reference != whole.reference)
    }

    @Test("training on the frozen trunk computed once equals training from the embeddings")
    func trunkTrainingMatches() throws {
        let pairs = Self.rulePairs(count: 12, seed: 11)
        let parameters = Self.parameters(epochs: 2)
        func trained(reuse: Bool) throws -> [Float] {
            let policy = Self.model()
            let training = try DirectPreferenceTrainer.prepare(pairs, policy: policy, reference: nil, paddingToken: Self.padding,
                                                               batchSize: 4, reuseTrunk: reuse)
            #expect((training.trunk != nil) == reuse)
            var state = DirectPreferenceTrainer.initialState(for: policy, parameters: parameters)
            try DirectPreferenceTrainer.train(
                model: policy, optimizer: AdamW(model: policy, configuration: parameters.training.optimizer), state: &state,
                training: training, heldOut: nil, parameters: parameters) { _ in .more }
            return policy.parameters.array
        }
        let cached = try trained(reuse: true), whole = try trained(reuse: false)
        #expect(relativeError(cached, whole) < 1e-5)
        #expect(cached != Self.model().parameters.array)
    }

    @Test("RPO with η = 0 trains bit-identical weights to plain DPO")
    func rpoAtZero() throws {
        let pairs = Self.rulePairs(count: 12, seed: 5)
        let plain = try Self.run(pairs, parameters: Self.parameters(epochs: 2)).weights
        for term in [DirectPreference.RPOTerm.cumulative(eta: 0), .average(eta: 0)] {
            var parameters = Self.parameters(epochs: 2)
            parameters.rpo = term
            #expect(try Self.run(pairs, parameters: parameters).weights == plain, "\(term)")
        }
        var parameters = Self.parameters(epochs: 2)
        parameters.rpo = .cumulative(eta: 0.5)
        #expect(try Self.run(pairs, parameters: parameters).weights != plain)
    }

    @Test("every loss kind trains; IPO length-normalised and hinge included")
    func lossKinds() throws {
        let pairs = Self.rulePairs(count: 8, seed: 6)
        for kind in [DirectPreference.Kind.conservative(labelSmoothing: 0.1), .robust(labelSmoothing: 0.2), .ipo(lengthNormalized: false),
                     .ipo(lengthNormalized: true), .hinge] {
            var parameters = Self.parameters()
            parameters.loss = kind
            parameters.rpo = .average(eta: 0.2)
            let (weights, events) = try Self.run(pairs, parameters: parameters)
            #expect(weights.allSatisfy { $0.isFinite }, "\(kind)")
            #expect(events.contains { if case let .step(_, d) = $0 { return d.value(named: "nll_loss") != nil } else { return false } })
        }
    }

    @Test("a run resumed from a checkpoint ends bit-identical to an uninterrupted one")
    func resumesExactly() throws {
        let pairs = Self.rulePairs(count: 14, seed: 7), heldOut = Self.rulePairs(count: 4, seed: 8)
        var parameters = Self.parameters(epochs: 3)
        parameters.training.warmupRatio = 0.2
        parameters.training.evaluationInterval = 3
        let (straight, _) = try Self.run(pairs, parameters: parameters, heldOut: heldOut)

        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("rlhf-dpo-resume-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let first = Self.model()
        let optimizer = AdamW(model: first, configuration: parameters.training.optimizer)
        var state = DirectPreferenceTrainer.initialState(for: first, parameters: parameters)
        try DirectPreferenceTrainer.train(
            model: first, optimizer: optimizer, state: &state,
            training: try DirectPreferenceTrainer.prepare(pairs, policy: first, reference: nil, paddingToken: Self.padding, batchSize: 4),
            heldOut: nil, parameters: parameters,
            checkpoint: { state in
                try Checkpoint.save(model: first, optimizer: optimizer, state: state, parameters: parameters, to: directory)
                return directory
            }
        ) { event in
            if case let .step(m, _) = event, m.step == 5 { return .stop }
            return .more
        }
        let restored = try Checkpoint.load(from: directory, optimizer: parameters.training.optimizer)
        #expect(restored.state.step == 5 && restored.model.trainable == .topBlocks(1, of: 2))
        // The reference is the starting model, not the checkpoint's policy.
        let reference = Self.model()
        var resumed = restored.state
        try DirectPreferenceTrainer.train(
            model: restored.model, optimizer: restored.optimizer, state: &resumed,
            training: try DirectPreferenceTrainer.prepare(pairs, policy: restored.model, reference: reference, paddingToken: Self.padding, batchSize: 4),
            heldOut: try DirectPreferenceTrainer.prepare(heldOut, policy: restored.model, reference: reference, paddingToken: Self.padding, batchSize: 4),
            parameters: parameters
        ) { _ in .more }
        #expect(resumed.step == 12)
        #expect(restored.model.parameters.array == straight, "resumed weights must be bit-identical")
    }

    @Test("a NaN in the policy stops the run at that step, with nothing applied and no checkpoint")
    func nonFiniteStops() throws {
        let policy = Self.model()
        let parameters = Self.parameters()
        let training = try DirectPreferenceTrainer.prepare(Self.rulePairs(count: 8, seed: 9), policy: policy, reference: nil,
                                                           paddingToken: Self.padding, batchSize: 4)
        let optimizer = AdamW(model: policy, configuration: parameters.training.optimizer)
        var state = DirectPreferenceTrainer.initialState(for: policy, parameters: parameters)
        var checkpoints = 0
        var steps = 0
        let poisoned = try #require(policy.parameter(named: "model.norm.weight"))
        do {
            try DirectPreferenceTrainer.train(
                model: policy, optimizer: optimizer, state: &state, training: training, heldOut: nil, parameters: parameters,
                checkpoint: { _ in checkpoints += 1; return "" }
            ) { event in
                if case .step = event { steps += 1; poisoned[0] = .nan }
                return .more
            }
            Issue.record("expected a TrainingError")
        } catch let error as TrainingError {
            guard case let .nonFiniteTensor(step, tensor, _) = error else { Issue.record("\(error)"); return }
            #expect(step == 2 && tensor == "policy sequence log-probs", "\(error)")
        }
        #expect(steps == 1 && checkpoints == 0 && state.step == 1)
    }

    // MARK: - KTO

    /// Unpaired examples: desirable completions say "yes" and use one set of words, undesirable
    /// ones say "no" and use another.
    static func unpaired(count: Int, seed: UInt64) -> [TokenizedUnpairedExample] {
        var generator = SeededGenerator(seed: seed)
        let good = ["cat", "sun", "red", "box"], bad = ["tree", "blue", "map", "cup"]
        return (0..<count).map { i in
            let desirable = i % 2 == 0
            let words = (0..<3).map { _ in (desirable ? good : bad)[Int(generator.next() % 4)] } + [desirable ? "yes" : "no"]
            return TokenizedUnpairedExample(prompt: [256] + ByteTokenizer().encode("Q: "),
                                            completion: ByteTokenizer().encode(words.joined(separator: " ")) + [257], label: desirable)
        }
    }

    @Test("mismatched pairs: each completion moves one place within its chunk of B")
    func mismatchedPairs() {
        let examples = (0..<5).map { TokenizedUnpairedExample(prompt: [256], completion: [$0], label: true) }
        #expect(DirectPreferenceTrainer.mismatchedCompletions(examples, batchSize: 2) == [[1], [0], [3], [2], [4]])
        #expect(DirectPreferenceTrainer.mismatchedCompletions(examples, batchSize: 8) == [[4], [0], [1], [2], [3]])
    }

    @Test("KTO raises desirable log-ratios and lowers undesirable ones")
    func ktoMovesBothWays() throws {
        let examples = Self.unpaired(count: 32, seed: 10)
        var parameters = DirectPreferenceTrainer.KTOParameters()
        parameters.training.epochs = 4
        parameters.training.batchSize = 8
        parameters.training.learningRate = 3e-3
        parameters.beta = 0.5
        let policy = Self.model()
        let training = try DirectPreferenceTrainer.prepareKTO(examples, policy: policy, reference: nil, paddingToken: Self.padding, batchSize: 8)
        #expect(training.referenceUsedTrunk && training.trunk?.block == 1)
        var state = DirectPreferenceTrainer.initialState(for: policy, parameters: Self.parameters())
        var evaluations = [DirectPreferenceTrainer.Evaluation](), steps = [[Diagnostic]]()
        try DirectPreferenceTrainer.trainKTO(
            model: policy, optimizer: AdamW(model: policy, configuration: parameters.training.optimizer), state: &state,
            training: training, heldOut: training, parameters: parameters
        ) { event in
            switch event {
            case let .evaluation(_, e): evaluations.append(e)
            case let .step(m, d): #expect(m.loss.isFinite); steps.append(d)
            case .checkpoint: break
            }
            return .more
        }
        #expect(steps.count == 16 && evaluations.count == 2)
        let before = try #require(evaluations.first), after = try #require(evaluations.last)
        #expect(before.value(named: "rewards/chosen") == 0 && before.value(named: "kl") == 0 && abs(before.loss - 0.5) < 1e-12)
        let chosen = after.value(named: "rewards/chosen") ?? 0, rejected = after.value(named: "rewards/rejected") ?? 0
        #expect(chosen > 0 && rejected < 0, "desirable \(chosen), undesirable \(rejected), z0 \(after.value(named: "kl") ?? .nan)")
        #expect(after.loss < before.loss, "loss \(before.loss) → \(after.loss)")
        #expect(steps.allSatisfy { ($0.value(named: "kl") ?? -1) >= 0 })
    }

    @Test("KTO's weight check follows TRL's recommended range")
    func ktoWeightWarning() {
        var parameters = DirectPreferenceTrainer.KTOParameters()
        #expect(DirectPreferenceTrainer.weightWarning(desirable: 10, undesirable: 10, parameters: parameters) == nil)
        let warning = DirectPreferenceTrainer.weightWarning(desirable: 30, undesirable: 10, parameters: parameters)
        #expect(warning?.contains("--undesirable-weight in [2.25, 3.0]") == true, "\(warning ?? "")")
        parameters.undesirableWeight = 2.5
        #expect(DirectPreferenceTrainer.weightWarning(desirable: 30, undesirable: 10, parameters: parameters) == nil)
        parameters = DirectPreferenceTrainer.KTOParameters()
        parameters.desirableWeight = 1.5
        #expect(DirectPreferenceTrainer.weightWarning(desirable: 10, undesirable: 10, parameters: parameters) != nil)
    }
}
