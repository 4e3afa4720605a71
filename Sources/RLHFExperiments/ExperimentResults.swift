import RLHFAlignment

/// Everything an experiment measured, written as `results.json` (keys sorted, no timings, so the
/// same configuration and seed give the same file byte for byte) and read by the HTML report.
public struct ExperimentResults: Sendable, Codable, Equatable {
    public var format = "swift-rlhf-experiment"
    public var version = 1
    public var configuration: ExperimentConfiguration
    public var setup: SetupSummary
    /// One per setting × RL seed, in ``ExperimentConfiguration/settings`` order, seeds ascending.
    public var runs: [RunResult]
    /// One row per setting: the end of training (mean of the final window), mean ± std over seeds.
    public var table: [TableRow]
    /// The KL at which ``TableRow/goldAtMatchedKL`` compares settings.
    public var matchedKL: Double
    /// Per algorithm (on the single proxy): every (KL, gold) point of its runs and the Gao RL fit.
    public var frontiers: [Frontier]
    public var bestOfN: BestOfNResult

    public init(configuration: ExperimentConfiguration, setup: SetupSummary, runs: [RunResult], table: [TableRow],
                matchedKL: Double, frontiers: [Frontier], bestOfN: BestOfNResult) {
        self.configuration = configuration
        self.setup = setup
        self.runs = runs
        self.table = table
        self.matchedKL = matchedKL
        self.frontiers = frontiers
        self.bestOfN = bestOfN
    }
}

/// A mean and the sample standard deviation (n − 1; 0 for one value) over seeds.
public struct MeanStd: Sendable, Codable, Equatable {
    public var mean: Double
    public var std: Double
    public var count: Int

    public init(_ values: [Double]) {
        let mean = values.isEmpty ? 0 : values.reduce(0, +) / Double(values.count)
        count = values.count
        self.mean = mean
        std = values.count < 2 ? 0 : (values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(values.count - 1)).squareRoot()
    }
}

/// What stage 1 produced.
public struct SetupSummary: Sendable, Codable, Equatable {
    public var policyParameters: Int
    public var sftExamples: Int
    public var sftSteps: Int
    /// Held-out SFT loss (nats per completion token) before and after SFT.
    public var sftLossBefore: Double
    public var sftLossAfter: Double
    /// A few SFT samples (prompt, response, gold).
    public var sftSamples: [TextSample]
    public var comparisons: Int
    /// Pairs whose two responses tied on gold (dropped before labelling).
    public var tiedPairs: Int
    public var flippedLabels: Int
    public var heldOutPairs: Int
    /// Each member's held-out accuracy against the (noisy) labels it was trained on and against gold.
    public var memberAccuracy: [Double]
    public var memberGoldAccuracy: [Double]
    /// Each member's normalisation on SFT samples (its raw mean and std there).
    public var normalizations: [ProxyReward.Normalization]
    /// The gold reward's raw mean and std on SFT samples (the mean is subtracted everywhere).
    public var goldOffset: Double
    public var goldStandardDeviation: Double
    /// Mean of each gold term on SFT samples.
    public var goldTerms: [NamedValue]
}

public struct NamedValue: Sendable, Codable, Equatable {
    public var name: String
    public var value: Double
}

/// A response with its scores (proxy: the run's proxy, normalised; gold: recentred).
public struct TextSample: Sendable, Codable, Equatable {
    public var step: Int
    public var prompt: String
    public var response: String
    public var proxy: Double
    public var gold: Double
}

/// One measured step of a run: means over the step's rollouts (fresh samples of the policy
/// before that step's update).
public struct StepPoint: Sendable, Codable, Equatable {
    public var step: Int
    public var proxy: Double
    public var gold: Double
    /// KL(π‖π_SFT) per sequence: the k1 sum (the unbiased estimate) and the k3 sum (never negative).
    public var kl: Double
    public var klK3: Double
    /// Mean response length (tokens).
    public var length: Double
    /// The ensemble members' disagreement (ensemble proxies only).
    public var disagreement: Double?
}

/// One training run of one setting with one seed.
public struct RunResult: Sendable, Codable, Equatable {
    public var setting: ExperimentConfiguration.RunSetting
    public var seed: UInt64
    public var steps: [StepPoint]
    /// Means over the final window.
    public var finalProxy: Double
    public var finalGold: Double
    public var finalKL: Double
    /// The step with the highest gold (on the smoothed curve) and its gold and KL.
    public var goldPeakStep: Int
    public var goldPeak: Double
    public var goldPeakKL: Double
    /// Responses at several points of training (first, quarters, last).
    public var samples: [TextSample]
    /// Overoptimization warnings the run's monitor raised (step and text).
    public var warnings: [String]
}

/// One setting's row: mean ± std over its seeds.
public struct TableRow: Sendable, Codable, Equatable {
    public var setting: ExperimentConfiguration.RunSetting
    public var proxy: MeanStd
    public var gold: MeanStd
    public var kl: MeanStd
    public var goldPeak: MeanStd
    /// Gold on the smoothed curve where KL first reaches ``ExperimentResults/matchedKL`` (seeds
    /// that never reach it are left out; nil when none does).
    public var goldAtMatchedKL: MeanStd?
    /// Gold fell while the proxy rose: the final gold is below the gold peak by more than
    /// ``Experiment/overoptimizationDrop`` (means over seeds) and the final proxy is above the first steps'.
    public var overoptimized: Bool
    /// The last sample of the first seed.
    public var sample: TextSample
}

/// An algorithm's KL–gold frontier on the single proxy.
public struct Frontier: Sendable, Codable, Equatable {
    public struct Point: Sendable, Codable, Equatable {
        public var beta: Double
        public var step: Int
        /// Means over seeds at this step (smoothed).
        public var kl: Double
        public var gold: Double
    }

    public var algorithm: String
    public var points: [Point]
    /// Gao et al.'s RL form gold(d) = d(α − β ln d), d = √KL, fitted on every point.
    public var fit: GaoScalingLaw.Fit?
}

/// The best-of-n curve of the SFT policy under each proxy, with gold, from the unbiased estimator.
public struct BestOfNResult: Sendable, Codable, Equatable {
    public struct Curve: Sendable, Codable, Equatable {
        /// `single`, `mean`, `wco`, `uwo`: what selects the best of n.
        public var proxy: String
        public var proxyScores: [Double]
        public var gold: [Double]
        /// Gao et al.'s best-of-n form gold(d) = d(α − β d), fitted on the gold curve.
        public var fit: GaoScalingLaw.Fit?
    }

    public var n: [Int]
    /// log n − (n − 1)/n.
    public var kl: [Double]
    public var curves: [Curve]
    public var prompts: Int
    public var samplesPerPrompt: Int
}
