import RLHFTensor

/// Errors for inputs a model cannot run on.
public enum LlamaError: Error, CustomStringConvertible, Equatable {
    case tokenOutOfRange(row: Int, position: Int, token: Int, vocabularySize: Int)
    case sequenceTooLong(length: Int, maximum: Int)
    case noScalarHead
    case backwardWithoutForward
    case gradientCountMismatch(what: String, expected: Int, actual: Int)
    case backwardBelowStartBlock(lowestTrainable: Int, startBlock: Int)

    public var description: String {
        switch self {
        case let .tokenOutOfRange(row, position, token, vocabularySize):
            return "token id \(token) at row \(row), position \(position) is outside the vocabulary (0..<\(vocabularySize))"
        case let .sequenceTooLong(length, maximum):
            return "sequence length \(length) exceeds the model's maximum of \(maximum) positions"
        case .noScalarHead:
            return "this model has no scalar head (create it with scalarHead: true)"
        case .backwardWithoutForward:
            return "backward needs a preceding forward pass with retainForBackward: true on the same batch"
        case let .backwardBelowStartBlock(lowest, start):
            return "the forward pass started at block \(start) from given states, but block \(lowest) (or the embedding) trains: freeze everything below block \(start)"
        case let .gradientCountMismatch(what, expected, actual):
            return "\(what) has \(actual) entries, expected \(expected) (one per batch position, [B, T])"
        }
    }
}

/// What a forward pass returns. Per-position arrays are [B, T] like the batch's tokens.
public struct LlamaOutput: Sendable {
    /// Entry [b, t] = log p(token[b, t] | tokens[b, ..<t]) for 1 ≤ t < lengths[b]; 0 elsewhere
    /// (position 0 has no prediction; padding has none either). Empty when not requested.
    public var tokenLogProbs: [Float]
    /// Entry [b, t] = scalar head on the final hidden state at position t (0 on padding). Empty
    /// when not requested.
    public var values: [Float]
}

/// A Llama-family decoder with its parameters, gradients and the activations of the last forward
/// pass.
///
/// One flat buffer holds every parameter (see ``ParameterLayout``); ``gradients`` shares that layout.
/// A forward pass with `retainForBackward: true` keeps what ``backward(tokenLogProbGradients:valueGradients:)``
/// needs; backward accumulates into ``gradients`` (call ``zeroGradients()`` between steps).
///
///     let model = LlamaModel(configuration: config, seed: 0)
///     let output = try model.forward(batch, retainForBackward: true)
///     try model.backward(tokenLogProbGradients: dLogProbs)
///
/// Not thread-safe: one model serves one caller at a time (its kernels use every core).
public final class LlamaModel: @unchecked Sendable {
    public let configuration: LlamaConfiguration
    public let layout: ParameterLayout
    /// All parameters, laid out by ``layout``.
    public let parameters: FloatBuffer
    /// Gradients in the same layout; allocated on first use.
    public private(set) lazy var gradients = FloatBuffer(count: layout.totalCount)
    /// The GEMM backend every matrix product goes through.
    public var multiplier: any MatrixMultiplier
    /// Which parameters backward computes gradients for.
    public var trainable: TrainableParameters
    /// Largest logits block, in bytes, kept from forward to backward; larger batches recompute
    /// logits chunk by chunk instead of materialising [B, T, V] (default 1 GiB: the response
    /// tokens of a 32-rollout GRPO step, 1,500 × 49,152 floats, fit, so backward need not run the
    /// output head again).
    public var logitsMemoryBudget: Int = 1 << 30
    /// Quantized copies of frozen weights that decoding reads instead of the float parameters
    /// (``quantizeForSampling(_:)``); nil: decoding reads the parameters.
    public internal(set) var samplingWeights: SamplingWeights?
    /// Whether teacher-forced passes compute a prefix that several rows of a batch share once
    /// (``SequencePacking``): on by default; `RLHF_PREFIX_SHARING=off` or false computes every
    /// row's positions separately (the same values up to float rounding; for comparison).
    public var sharesPrefixes: Bool = !CPUFeatures.isSwitchedOff("RLHF_PREFIX_SHARING")
    /// Whether the model carries a scalar head (`score.weight`).
    public var hasScalarHead: Bool { layout.scalarHead != nil }

    let rotary: RotaryEmbedding
    /// Activations of the last forward pass that was retained for backward.
    var trainingStorage: ActivationStorage?
    /// The block the retained forward pass started at (``forward(_:from:tokenLogProbs:values:retainForBackward:)``):
    /// backward cannot reach below it.
    var trainingStartBlock = 0
    /// Scratch of inference-only forward passes (one block's worth, reused), kept apart so that
    /// evaluating between a forward and its backward neither reallocates nor invalidates anything.
    var inferenceStorage: ActivationStorage?
    /// Logits blocks of the output head, reused across passes (``headForward(_:)``).
    var retainedLogitsScratch: FloatBuffer?, inferenceLogitsScratch: FloatBuffer?

    /// A model with parameters from `parameters` (laid out by `ParameterLayout(configuration:scalarHead:)`).
    public init(
        configuration: LlamaConfiguration, scalarHead: Bool = false, parameters: FloatBuffer? = nil,
        multiplier: any MatrixMultiplier = MatrixMultiply.best
    ) {
        self.configuration = configuration
        layout = ParameterLayout(configuration: configuration, scalarHead: scalarHead)
        if let parameters {
            precondition(parameters.count == layout.totalCount, "parameter buffer does not match the layout")
            self.parameters = parameters
        } else {
            self.parameters = FloatBuffer(count: layout.totalCount)
        }
        self.multiplier = multiplier
        trainable = .all
        rotary = RotaryEmbedding(
            rotaryDimensionCount: configuration.rotaryDimensionCount, theta: configuration.ropeTheta,
            maximumPosition: configuration.maximumSequenceLength)
    }

    /// A model with Hugging Face's initialisation: linear and embedding weights N(0, 0.02²), norm
    /// weights 1, scalar head N(0, 1/(C+1)) (OpenRLHF's reward-head initialisation).
    public convenience init(
        configuration: LlamaConfiguration, scalarHead: Bool = false, seed: UInt64,
        multiplier: any MatrixMultiplier = MatrixMultiply.best
    ) {
        self.init(configuration: configuration, scalarHead: scalarHead, multiplier: multiplier)
        initialize(seed: seed)
    }

    /// Hugging Face initialisation of the entries selected by `include` (all by default).
    func initialize(seed: UInt64, where include: (ParameterLayout.Entry) -> Bool = { _ in true }) {
        var generator = SeededGenerator(seed: seed)
        for entry in layout.entries where include(entry) {
            let p = parameters.pointer + entry.offset
            switch entry.role {
            case .attentionNorm, .mlpNorm, .finalNorm:
                p.update(repeating: 1, count: entry.count)
            case .scalarHeadWeight:
                generator.fillGaussian(p, count: entry.count, standardDeviation: 1 / Float(configuration.hiddenSize + 1).squareRoot())
            default:
                generator.fillGaussian(p, count: entry.count, standardDeviation: 0.02)
            }
        }
    }

    /// Number of parameters (a tied head counted once).
    public var parameterCount: Int { layout.totalCount }

    /// Sets every gradient to zero.
    public func zeroGradients() { gradients.zero() }

    /// A view of one named parameter (Hugging Face name).
    public func parameter(named name: String) -> UnsafeMutableBufferPointer<Float>? {
        layout.entry(named: name).map { UnsafeMutableBufferPointer(start: parameters.pointer + $0.offset, count: $0.count) }
    }

    /// A view of one named parameter's gradient.
    public func gradient(named name: String) -> UnsafeMutableBufferPointer<Float>? {
        layout.entry(named: name).map { UnsafeMutableBufferPointer(start: gradients.pointer + $0.offset, count: $0.count) }
    }

    /// Whether backward produces a gradient for this parameter.
    public func isTrainable(_ entry: ParameterLayout.Entry) -> Bool {
        if entry.role == .tokenEmbedding && configuration.tiedEmbeddings {
            return trainable.tokenEmbedding
        }
        return trainable.contains(entry)
    }

    /// Validates a batch against the vocabulary and the position limit.
    func check(_ batch: TokenBatch) throws {
        if batch.sequenceLength > configuration.maximumSequenceLength {
            throw LlamaError.sequenceTooLong(length: batch.sequenceLength, maximum: configuration.maximumSequenceLength)
        }
        let T = batch.sequenceLength, V = configuration.vocabularySize
        if let starts = batch.logProbStarts {
            precondition(starts.count == batch.batchSize && starts.allSatisfy { $0 >= 0 && Int($0) <= T },
                         "logProbStarts: one start in 0...T per row")
        }
        for b in 0..<batch.batchSize {
            for t in 0..<Int(batch.lengths[b]) {
                let token = Int(batch.tokens[b * T + t])
                if token < 0 || token >= V {
                    throw LlamaError.tokenOutOfRange(row: b, position: t, token: token, vocabularySize: V)
                }
            }
        }
    }

    // MARK: - GEMM shorthands (row-major)

    /// out[N, O] = x[N, I] · W[O, I]ᵀ (+ out when accumulate).
    func linear(
        _ x: UnsafePointer<Float>, weight: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>,
        rows N: Int, inFeatures I: Int, outFeatures O: Int, accumulate: Bool = false
    ) {
        multiplier.gemm(
            transposeA: false, transposeB: true, m: N, n: O, k: I, alpha: 1, a: x, lda: I,
            b: weight, ldb: I, beta: accumulate ? 1 : 0, c: out, ldc: O)
    }

    /// dW[O, I] += dy[N, O]ᵀ · x[N, I].
    func linearWeightGradient(
        outputGradient dy: UnsafePointer<Float>, input x: UnsafePointer<Float>,
        into dW: UnsafeMutablePointer<Float>, rows N: Int, inFeatures I: Int, outFeatures O: Int
    ) {
        multiplier.gemm(
            transposeA: true, transposeB: false, m: O, n: I, k: N, alpha: 1, a: dy, lda: O,
            b: x, ldb: I, beta: 1, c: dW, ldc: I)
    }

    /// dx[N, I] (+)= dy[N, O] · W[O, I].
    func linearInputGradient(
        outputGradient dy: UnsafePointer<Float>, weight: UnsafePointer<Float>,
        into dx: UnsafeMutablePointer<Float>, rows N: Int, inFeatures I: Int, outFeatures O: Int, accumulate: Bool
    ) {
        multiplier.gemm(
            transposeA: false, transposeB: false, m: N, n: I, k: O, alpha: 1, a: dy, lda: O,
            b: weight, ldb: I, beta: accumulate ? 1 : 0, c: dx, ldc: I)
    }
}
