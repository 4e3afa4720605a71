import Foundation
import RLHFModel
import RLHFTensor
import RLHFTokenizer
import RLHFTraining
import Testing
import _RLHFTestSupport

@Suite("SFT runs, checkpoints and exact resume")
struct TrainingRunTests {
    static let configuration = LlamaConfiguration(
        vocabularySize: ByteTokenizer().vocabularySize, hiddenSize: 16, intermediateSize: 32, blockCount: 2,
        attentionHeadCount: 2, keyValueHeadCount: 1, maximumSequenceLength: 64)
    static let text = String(repeating: "the quick brown fox jumps over the lazy dog. ", count: 40)
    static var tokens: [Int32] { ByteTokenizer().encode(text).map { Int32($0) } }

    static func parameters(steps: Int, directory: String? = nil) -> SFTTrainer.Parameters {
        var p = SFTTrainer.Parameters()
        p.steps = steps
        p.batchSize = 4
        p.sequenceLength = 24
        p.warmupSteps = 2
        p.evaluationInterval = 0
        p.evaluationBatches = 1
        p.checkpointDirectory = directory
        p.learningRate = 1e-2
        return p
    }

    static func temporaryDirectory() -> String {
        let path = NSTemporaryDirectory() + "swift-rlhf-test-\(UUID().uuidString)"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    @Test func lossDecreases() throws {
        let model = LlamaModel(configuration: Self.configuration, seed: 3)
        let p = Self.parameters(steps: 30)
        let optimizer = AdamW(model: model, configuration: p.optimizer)
        var state = SFTTrainer.initialState(for: model, parameters: p)
        var losses = [Double]()
        try SFTTrainer.train(model: model, optimizer: optimizer, state: &state, training: Self.tokens, validation: [], parameters: p) {
            if case let .step(m) = $0 { losses.append(m.loss) }
            return .more
        }
        #expect(losses.count == 30 && state.step == 30)
        let early: Double = losses.prefix(5).reduce(0, +) / 5
        let late: Double = losses.suffix(5).reduce(0, +) / 5
        #expect(late < 0.8 * early, "loss went from \(early) to \(late)")
    }

    @Test func resumeIsExact() throws {
        let directory = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let p = Self.parameters(steps: 6, directory: directory + "/run")
        // Uninterrupted run.
        let straight = LlamaModel(configuration: Self.configuration, seed: 5)
        var straightState = SFTTrainer.initialState(for: straight, parameters: p)
        try SFTTrainer.train(model: straight, optimizer: AdamW(model: straight, configuration: p.optimizer),
                             state: &straightState, training: Self.tokens, validation: [], parameters: p) { _ in .more }
        // Interrupted after 3 steps (a checkpoint is written on stop), then resumed from disk.
        let first = LlamaModel(configuration: Self.configuration, seed: 5)
        var state = SFTTrainer.initialState(for: first, parameters: p)
        try SFTTrainer.train(model: first, optimizer: AdamW(model: first, configuration: p.optimizer),
                             state: &state, training: Self.tokens, validation: [], parameters: p) { event in
            if case let .step(m) = event, m.step == 3 { return .stop }
            return .more
        }
        #expect(state.step == 3)
        let (model, optimizer, saved) = try Checkpoint.load(from: directory + "/run", optimizer: p.optimizer)
        var resumed = saved
        #expect(resumed == state)
        try SFTTrainer.train(model: model, optimizer: optimizer, state: &resumed, training: Self.tokens, validation: [], parameters: p) { _ in .more }
        #expect(resumed.step == 6)
        #expect(model.parameters.array == straight.parameters.array, "resumed weights must be bit-identical")
        #expect(resumed.generator == straightState.generator)
        // The checkpoint is also a Hugging Face model directory.
        let reloaded = try LlamaModel.load(directory: directory + "/run")
        #expect(reloaded.parameters.array == model.parameters.array)
        #expect(optimizer.step == 6)
        // The settings are recorded, not reused: a resumed run is told what differs.
        #expect(try Checkpoint.differences(from: directory + "/run", to: p).isEmpty)
        var changed = p
        changed.learningRate = 1e-3
        changed.optimizer.weightDecay = 0
        #expect(try Checkpoint.differences(from: directory + "/run", to: changed)
                == ["learningRate: 0.01 → 0.001", "optimizer.weightDecay: 0.1 → 0"])
    }

    @Test func nonFiniteLossStopsWithoutUpdating() throws {
        let model = LlamaModel(configuration: Self.configuration, seed: 3)
        model.parameters[model.layout.finalNorm] = .nan
        let p = Self.parameters(steps: 3)
        let optimizer = AdamW(model: model, configuration: p.optimizer)
        var state = SFTTrainer.initialState(for: model, parameters: p)
        let before = model.parameters.array
        #expect(throws: TrainingError.self) {
            try SFTTrainer.train(model: model, optimizer: optimizer, state: &state, training: Self.tokens, validation: [], parameters: p) { _ in .more }
        }
        #expect(state.step == 0 && optimizer.step == 0)
        let after = model.parameters.array
        #expect(zip(before, after).allSatisfy { $0 == $1 || ($0.isNaN && $1.isNaN) })
    }

    @Test func missingCheckpointIsATypedError() {
        #expect(throws: Checkpoint.CheckpointError.notFound(path: "/nonexistent/run")) {
            try Checkpoint.load(from: "/nonexistent/run", optimizer: .init())
        }
    }
}
