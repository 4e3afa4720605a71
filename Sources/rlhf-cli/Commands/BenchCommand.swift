import ArgumentParser
import Foundation
import RLHF

/// `rlhf bench`: throughput of the engine on SmolLM2-135M shapes with random weights.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure GEMM GFLOP/s and forward / training tokens/s on SmolLM2-135M shapes.",
        discussion: """
            Random weights with the SmolLM2-135M architecture (vocabulary 49152, hidden 576, FFN 1536, \
            30 blocks, 9 query / 3 KV heads, tied output). A training step is forward + backward + \
            AdamW on next-token loss. GFLOP/s use the 6·N·tokens (training) and 2·N·tokens (forward) \
            convention, N = all parameters, so the figures compare directly with \
            shared/bench/torch_bench.py. Compare ratios from one run: this machine is shared and noisy.
            """)

    @Option(help: "Model shapes of the random-weight benchmarks: 135m (SmolLM2-135M), 360m (SmolLM2-360M) or tiny (2 blocks, d 64, vocabulary 256).")
    var shape: String = "135m"
    @Option(help: "Batch size B.") var batchSize: Int = 4
    @Option(help: "Sequence length T.") var sequenceLength: Int = 128
    @Option(help: "Timed repetitions (the best is reported).") var repeats: Int = 3
    @Flag(help: "Skip the (slow) portable-kernel GEMM figures.") var skipPortable = false
    @Flag(help: "Skip the model benchmarks (GEMM only).") var gemmOnly = false
    @Flag(help: "Run only the forward and training-step benchmark (for scaling runs over --shape, -B, -T, RLHF_THREADS).")
    var modelOnly = false
    @Flag(help: "Skip the sampling benchmarks.") var skipSampling = false
    @Flag(help: "Run only the sampling benchmarks.") var samplingOnly = false
    @Flag(help: "Run only the reward-model scoring benchmarks.") var rewardsOnly = false
    @Option(help: "Members of the shared-trunk ensemble in the reward benchmark.") var ensembleMembers: Int = 4
    @Option(help: "New tokens per row in the sampling benchmark.") var newTokens: Int = 64
    @Option(parsing: .upToNextOption, help: "Batch sizes of the sampling benchmark.") var samplingBatches: [Int] = [1, 16, 64]
    @Flag(help: "Run only whole RL steps (P3O, RLOO, GRPO at trl_bench.py's configurations) on --model, by phase.")
    var p3o = false
    @Option(help: "The model of --p3o (SmolLM2-135M-Instruct: scripts/fetch-smollm2.sh prints its path).")
    var model: String?
    @Option(help: "Also time tokenization of ~10 MB of text with this model's tokenizer (.gguf or HF directory).")
    var tokenizer: String?
    @Option(parsing: .upToNextOption, help: "With --p3o, only these configurations (p3o-64, p3o-8, rloo, grpo-top2, grpo, dpo).")
    var rlConfigs: [String] = []
    @Option(help: "With --p3o: the weights sampling reads (f32, q8_0).")
    var samplingWeights: SamplingWeightFormat = .f32
    @Option(help: "Write every figure, with the machine and the roofs, to this JSON file.")
    var json: String?

    /// The configuration `--shape` names.
    func benchConfiguration() throws -> LlamaConfiguration {
        switch shape.lowercased() {
        case "135m": return .smolLM2_135M
        case "360m": return .smolLM2_360M
        case "tiny":
            return LlamaConfiguration(vocabularySize: 256, hiddenSize: 64, intermediateSize: 192, blockCount: 2, attentionHeadCount: 4,
                                      keyValueHeadCount: 2, ropeTheta: 10_000, maximumSequenceLength: 4096)
        default: throw ValidationError("unknown --shape \(shape): 135m, 360m or tiny")
        }
    }

    func run() throws {
        _ = try benchConfiguration()
        printHeader()
        try tables()
        if let json { try writeReport(to: json) }
    }

    func tables() throws {
        if let tokenizer { try tokenizerTable(path: tokenizer) }
        if p3o { return try rlTable() }
        if samplingOnly { return try samplingTable() }
        if rewardsOnly { return try rewardTable() }
        if modelOnly { return try modelTable() }
        gemmTable()
        if !gemmOnly { try modelTable() }
        if !gemmOnly && !skipSampling { try samplingTable() }
        if !gemmOnly { try rewardTable() }
    }

    /// Encoding throughput on ~10 MB of mixed text (JSONL-like lines with prose, code, numbers, UTF-8).
    func tokenizerTable(path: String) throws {
        let tokenizer = try PretrainedModel.loadTokenizer(path: path)
        var lines = [String]()
        var generator = SeededGenerator(seed: 3)
        let words = ["the", "model", "prefers", "response", "Paris", "café", "東京", "def", "return", "x**2", "🙂", "1234", "don't", "  "]
        var size = 0
        while size < 10_000_000 {
            let line = #"{"prompt": ""# + (0..<40).map { _ in words[Int(generator.next() % UInt64(words.count))] }.joined(separator: " ") + #"", "chosen": "ok"}"#
            lines.append(line)
            size += line.utf8.count + 1
        }
        let text = lines.joined(separator: "\n")
        let start = ContinuousClock.now
        let ids = tokenizer.encode(text)
        let seconds = (ContinuousClock.now - start).seconds
        print("Tokenizer: \(String(format: "%.1f", Double(size) / 1e6)) MB → \(ids.count) tokens in \(String(format: "%.2f", seconds)) s (\(String(format: "%.1f", Double(size) / 1e6 / seconds)) MB/s)")
        print("")
    }

    /// Batched sampling with the KV cache (temperature 1, full vocabulary, as `torch_bench.py`'s
    /// `generate`) and prompt prefill, like llama.cpp's prompt evaluation; then the same with Q8_0
    /// sampling weights, and how far their log-probs are from float32. On `--model` when given
    /// (a real model's log-prob error means something; random weights' barely does).
    func samplingTable() throws {
        let loaded = try self.model.map { try ModelOptions.load(path: $0) }
        let model = try loaded?.model ?? LlamaModel(configuration: benchConfiguration(), seed: 0)
        model.trainable = .none
        let V = model.configuration.vocabularySize
        var generator = SeededGenerator(seed: 2)
        func randomTokens(_ count: Int) -> [Int] { (0..<count).map { _ in Int(generator.next() % UInt64(V)) } }
        let clock = ContinuousClock()
        print("")
        print("Sampling with the KV cache (\(self.model ?? "\(shape) shapes, random weights"), 16-token prompts, \(newTokens) new tokens, temperature 1)")
        print("  " + pad("work", 36) + pad("seconds", 10) + pad("tokens/s", 10) + "GB/s of weights")
        let prompt = randomTokens(256)
        let cache = model.makeCache(batchSize: 1, capacity: 256)
        _ = try model.extend(cache, with: [Array(prompt.prefix(8))])  // warm-up
        let prefillCache = model.makeCache(batchSize: 1, capacity: 256)
        let start = clock.now
        _ = try model.extend(prefillCache, with: [prompt])
        let prefill = (clock.now - start).seconds
        let prefillGigaflops = 2 * Double(model.parameterCount) * 256 / prefill / 1e9
        print("  " + pad("prompt prefill, 256 tokens", 36) + pad(String(format: "%.3f", prefill), 10) + pad(String(format: "%.1f", 256 / prefill), 10)
              + String(format: "(%.1f GFLOP/s", prefillGigaflops) + roofNote(gigaflops: prefillGigaflops) + ")")
        record("sampling", "prompt prefill, 256 tokens", seconds: prefill, tokensPerSecond: 256 / prefill, gigaflops: prefillGigaflops)
        let prompts = samplingBatches.map { batch in (0..<batch).map { _ in randomTokens(16) } }
        func sample(_ label: String, weightBytes: Int, batches: [Int]) throws {
            for (batch, rows) in zip(samplingBatches, prompts) where batches.contains(batch) {
                let parameters = SamplingParameters(temperature: 1, maximumNewTokens: newTokens, seed: 1)
                let begin = clock.now
                let result = try model.generate(prompts: rows, parameters: parameters)
                let seconds = (clock.now - begin).seconds
                let generated = result.tokens.reduce(0) { $0 + $1.count }
                let steps = result.tokens.map(\.count).max() ?? 0
                let bandwidth = Double(weightBytes) * Double(steps) / seconds / 1e9
                print("  " + pad("sample, batch \(batch)\(label)", 36) + pad(String(format: "%.3f", seconds), 10)
                      + pad(String(format: "%.1f", Double(generated) / seconds), 10) + String(format: "%.1f", bandwidth)
                      + roofNote(gigabytesPerSecond: bandwidth))
                record("sampling", "sample, batch \(batch)\(label)", seconds: seconds, tokensPerSecond: Double(generated) / seconds,
                       gigabytesPerSecond: bandwidth)
            }
        }
        try sample("", weightBytes: model.parameterCount * 4, batches: samplingBatches)
        guard let weights = model.quantizeForSampling(.q8_0) else {
            print("  (no Q8_0 sampling: the quantized kernel needs AVX2/FMA)")
            return
        }
        let floatBytes = (model.parameterCount - weights.weightCount) * 4
        // Larger batches read the float weights (QuantizedMatrix.fasterRows): nothing to time there.
        try sample(", Q8_0 weights", weightBytes: weights.byteCount + floatBytes, batches: samplingBatches.filter { $0 <= QuantizedMatrix.fasterRows })
        // Natural text when the model has a tokenizer (random tokens drive it far off its data).
        let texts = ["The quick brown fox jumps over the lazy dog, and the dog does not seem to mind at all.",
                     "To make a cup of tea, boil fresh water, warm the pot, add the leaves and wait four minutes.",
                     "In 1969, two astronauts walked on the Moon while a third orbited above them in the command module.",
                     "def fibonacci(n):\n    a, b = 0, 1\n    for _ in range(n):\n        a, b = b, a + b\n    return a"]
        let errorRows = loaded?.tokenizer.map { tokenizer in texts.map { Array(tokenizer.encode($0).prefix(48)) } } ?? (0..<4).map { _ in randomTokens(48) }
        let error = try model.samplingWeightError(tokens: errorRows)
        print("  Q8_0 vs float32 over \(error.positions) positions of \(loaded?.tokenizer == nil ? "random tokens" : "4 English and code texts"): next-token log-prob |Δ| mean \(String(format: "%.4f", error.meanAbsoluteLogProbDifference)), max \(String(format: "%.4f", error.maximumAbsoluteLogProbDifference)) nats; KL \(String(format: "%.2e", error.meanKL)); argmax changed at \(error.argmaxChanges)")
        record("sampling", "q8_0 log-prob error", seconds: 0, extra: ["mean_abs_logprob_difference": error.meanAbsoluteLogProbDifference,
                                                                     "max_abs_logprob_difference": error.maximumAbsoluteLogProbDifference,
                                                                     "mean_kl": error.meanKL, "argmax_changes": Double(error.argmaxChanges)])
        model.quantizeForSampling(.f32)
    }

    func gemmTable() {
        var backends: [any MatrixMultiplier] = []
        if let blas = BLASMatrixMultiplier.shared { backends.append(blas) }
        if !skipPortable || backends.isEmpty { backends.append(PortableMatrixMultiplier()) }
        let rows = batchSize * sequenceLength
        let shapes: [(String, Int, Int, Int, Bool, Bool)] = [
            ("qkv fwd     x·Wᵀ", rows, 960, 576, false, true),
            ("mlp up fwd  x·Wᵀ", rows, 3072, 576, false, true),
            ("mlp down bwd dy·W", rows, 1536, 576, false, false),
            ("weight grad dyᵀ·x", 1536, 576, rows, true, false),
            ("lm head fwd x·Eᵀ", rows, 49152, 576, false, true),
            ("decode b16 qkv", 16, 960, 576, false, true),
            ("decode b16 o", 16, 576, 576, false, true),
            ("decode b16 gate/up", 16, 3072, 576, false, true),
            ("decode b16 down", 16, 576, 1536, false, true),
            ("decode b16 head", 16, 49152, 576, false, true),
            ("decode b16 head, transposed", 49152, 16, 576, false, true),
            ("decode b16 gate/up, transposed", 3072, 16, 576, false, true),
            ("decode b1 gate/up", 1, 3072, 576, false, true),
        ]
        print("GEMM GFLOP/s (M×N×K)")
        var header = "  shape                               "
        for backend in backends { header += pad(backend.name, 12) }
        print(header)
        for (label, m, n, k, ta, tb) in shapes {
            var line = "  " + pad("\(label) \(m)×\(n)×\(k)", 36)
            for backend in backends {
                let seconds = backend is PortableMatrixMultiplier ? 0.3 : 0.5
                let rate = GEMMBenchmark.gigaflops(of: backend, m: m, n: n, k: k, transposeA: ta, transposeB: tb, minimumSeconds: seconds)
                line += pad(String(format: "%.1f", rate), 12)
                record("gemm", "\(label) \(m)×\(n)×\(k) [\(backend.name)]", seconds: 0, gigaflops: rate)
            }
            print(line)
        }
        print("")
    }

    func modelTable() throws {
        let configuration = try benchConfiguration()
        let model = LlamaModel(configuration: configuration, seed: 0)
        let N = Double(model.parameterCount)
        let B = batchSize, T = sequenceLength
        var generator = SeededGenerator(seed: 1)
        let tokens = (0..<(B * T)).map { _ in Int32(generator.next() % UInt64(configuration.vocabularySize)) }
        let batch = TokenBatch(tokens: tokens, lengths: [Int32](repeating: Int32(T), count: B), sequenceLength: T)
        let optimizer = AdamW(model: model, configuration: .init())
        let clock = ContinuousClock()
        print("\(shape) shapes, random weights, \(Int(N)) parameters, B=\(B) T=\(T), GEMM: \(model.multiplier.name)")

        let forward = try time { _ = try model.forward(batch) }
        let training = try time {
            model.zeroGradients()
            let output = try model.forward(batch, retainForBackward: true)
            let (_, gradient) = LanguageModelingLoss.mean(logProbs: output.tokenLogProbs, batch: batch)
            try model.backward(tokenLogProbGradients: gradient)
            optimizer.update(model, learningRate: 1e-5)
        }
        let tokenCount = Double(B * T)
        print("  " + pad("work", 36) + pad("seconds", 10) + pad("tokens/s", 12) + "GFLOP/s")
        for (work, seconds, flops) in [("forward (log-probs)", forward, 2 * N * tokenCount), ("train step (fwd+bwd+AdamW)", training, 6 * N * tokenCount)] {
            let gigaflops = flops / seconds / 1e9
            print("  " + pad(work, 36) + pad(String(format: "%.3f", seconds), 10) + pad(String(format: "%.1f", tokenCount / seconds), 12)
                  + String(format: "%.1f", gigaflops) + roofNote(gigaflops: gigaflops))
            record("model", "\(work), B=\(B) T=\(T)", seconds: seconds, tokensPerSecond: tokenCount / seconds, gigaflops: gigaflops)
        }
        reportPeakMemory(after: "the training step")
    }

    /// Reward-model scoring (scalar head at the last token, no vocabulary projection) and a
    /// K-member ensemble whose members differ only in the top 2 blocks and the head, scored on the
    /// frozen trunk computed once per batch, against one member alone.
    func rewardTable() throws {
        let configuration = LlamaConfiguration.smolLM2_135M
        let B = 16, T = sequenceLength, K = max(1, ensembleMembers)
        let base = LlamaModel(configuration: configuration, scalarHead: true, seed: 0)
        var members = [base]
        for k in 1..<K {
            let member = LlamaModel(configuration: configuration, scalarHead: true, parameters: FloatBuffer(copying: base.parameters))
            let donor = LlamaModel(configuration: configuration, scalarHead: true, seed: UInt64(k))
            for entry in member.layout.entries where (entry.block ?? -1) >= configuration.blockCount - 2 || entry.role == .scalarHeadWeight {
                (member.parameters.pointer + entry.offset).update(from: donor.parameters.pointer + entry.offset, count: entry.count)
            }
            members.append(member)
        }
        let models = try members.map {
            try RewardModel(PretrainedModel(model: $0, tokenizer: nil, chatTemplate: nil), batchSize: B)
        }
        let ensemble = RewardEnsemble(members: models, combiner: .mean, sharedBlocks: configuration.blockCount - 2)
        var generator = SeededGenerator(seed: 2)
        let inputs = (0..<B).map { _ in
            RewardInput(prompt: "", response: "", promptTokens: (0..<(T / 4)).map { _ in Int(generator.next() % 49152) },
                        responseTokens: (0..<(T - T / 4 - 1)).map { _ in Int(generator.next() % 49152) })
        }
        let one = try time { _ = try models[0].scores(for: inputs) }
        let all = try time { _ = try ensemble.scores(for: inputs) }
        let tokens = Double(B * T)
        print("reward scoring, SmolLM2-135M shapes + score head, B=\(B) T=\(T); ensemble members share blocks 0..<\(ensemble.sharedBlocks)")
        print("  " + pad("work", 36) + pad("seconds", 10) + pad("tokens/s", 12) + "× one member")
        print("  " + pad("one reward model", 36) + pad(String(format: "%.3f", one), 10) + pad(String(format: "%.1f", tokens / one), 12) + "1.00")
        print("  " + pad("\(K)-member ensemble, shared trunk", 36) + pad(String(format: "%.3f", all), 10)
              + pad(String(format: "%.1f", tokens / all), 12) + String(format: "%.2f", all / one))
        print("")
    }

    /// The best of `repeats` timed runs of `body`, after one warm-up run (which allocates).
    func time(_ body: () throws -> Void) rethrows -> Double {
        try body()
        let clock = ContinuousClock()
        var best = Double.infinity
        for _ in 0..<repeats {
            let start = clock.now
            try body()
            best = min(best, (clock.now - start).seconds)
        }
        return best
    }

    func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
    }
}
