// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "swift-rlhf",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "RLHF", targets: ["RLHF"]),
        .executable(name: "rlhf", targets: ["rlhf"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.1"),
    ],
    targets: [
        // MARK: - Public API
        // Float32 tensors, GEMM (BLAS loaded at run time, portable SIMD fallback), vector math, RNG.
        .target(name: "RLHFTensor", dependencies: ["CRLHFKernels"]),
        // Bytes on disk: bounds-checked reader, safetensors, GGUF (tensors and metadata), atomic files.
        .target(name: "RLHFFormats", dependencies: ["RLHFTensor"]),
        // Text <-> token ids.
        .target(name: "RLHFTokenizer"),
        // The Llama decoder: layout tables, kernels, forward/backward, log-probs, scalar head, loading.
        .target(name: "RLHFModel", dependencies: ["RLHFTensor", "RLHFFormats", "RLHFTokenizer", "CRLHFKernels"]),
        // Pure maths of alignment: losses on arrays of log-probs, rewards and values, ensembles, KL
        // estimators, calibration. Knows no model.
        .target(name: "RLHFAlignment"),
        // Datasets in TRL's JSONL formats: typed records, file:line errors, chat rendering, tokenization.
        .target(name: "RLHFData", dependencies: ["RLHFTokenizer"]),
        // Prompts → completions → scored rollouts; reward sources (models, ensembles, rules, commands).
        .target(name: "RLHFRollouts", dependencies: ["RLHFTensor", "RLHFFormats", "RLHFModel", "RLHFTokenizer", "RLHFAlignment", "RLHFData"]),
        // Measures policies and reward models (reward, KL, win rate); never trains.
        .target(name: "RLHFEvaluation", dependencies: ["RLHFModel", "RLHFAlignment", "RLHFRollouts"]),
        // Optimizers, schedules, clipping, checkpoints and trainers.
        .target(name: "RLHFTraining", dependencies: ["RLHFTensor", "RLHFFormats", "RLHFModel", "RLHFTokenizer", "RLHFAlignment", "RLHFData", "RLHFRollouts"]),
        // Overoptimization experiments: SFT policy, gold-labelled pairs, proxies, RL runs over
        // algorithms × proxies × β × seeds, best-of-n, Gao fits, results JSON and HTML report.
        .target(name: "RLHFExperiments", dependencies: ["RLHFTensor", "RLHFModel", "RLHFTokenizer", "RLHFAlignment", "RLHFData", "RLHFRollouts", "RLHFEvaluation", "RLHFTraining"]),
        // Umbrella module: re-exports everything above.
        .target(name: "RLHF", dependencies: ["RLHFTensor", "RLHFFormats", "RLHFTokenizer", "RLHFModel", "RLHFAlignment", "RLHFData", "RLHFRollouts", "RLHFEvaluation", "RLHFTraining", "RLHFExperiments"]),
        // The `rlhf` command (Yams reads --config YAML files). Explicit path: `RLHF` and `rlhf` would collide on case-insensitive disks.
        .executableTarget(
            name: "rlhf",
            dependencies: [
                "RLHF", .product(name: "ArgumentParser", package: "swift-argument-parser"), .product(name: "Yams", package: "Yams"),
            ],
            path: "Sources/rlhf-cli"),

        // MARK: - Implementation details
        // C kernels (small-batch GEMM, decode attention, SwiGLU) behind one run-time AVX2/FMA check.
        .target(name: "CRLHFKernels"),
        // Test helpers: tolerances, finite differences, reference-data paths. Not public API.
        .target(name: "_RLHFTestSupport", dependencies: ["RLHFTensor", "RLHFFormats", "RLHFModel", "RLHFTokenizer"]),

        // MARK: - Tests
        .testTarget(name: "RLHFTensorTests", dependencies: ["RLHFTensor", "_RLHFTestSupport"]),
        .testTarget(name: "RLHFFormatsTests", dependencies: ["RLHFFormats", "RLHFTokenizer", "_RLHFTestSupport"]),
        .testTarget(name: "RLHFTokenizerTests", dependencies: ["RLHFTokenizer", "_RLHFTestSupport"]),
        .testTarget(name: "RLHFModelTests", dependencies: ["RLHFModel", "CRLHFKernels", "_RLHFTestSupport"]),
        .testTarget(name: "RLHFAlignmentTests", dependencies: ["RLHFAlignment", "_RLHFTestSupport"]),
        .testTarget(name: "RLHFDataTests", dependencies: ["RLHFData", "RLHFTokenizer", "_RLHFTestSupport"]),
        .testTarget(name: "RLHFRolloutsTests", dependencies: ["RLHFRollouts", "RLHFData", "RLHFModel", "RLHFAlignment", "_RLHFTestSupport"]),
        .testTarget(name: "RLHFEvaluationTests", dependencies: ["RLHFEvaluation", "RLHFRollouts", "RLHFModel", "_RLHFTestSupport"]),
        .testTarget(name: "RLHFTrainingTests", dependencies: ["RLHFTraining", "RLHFAlignment", "RLHFData", "RLHFRollouts", "_RLHFTestSupport"]),
        .testTarget(name: "RLHFExperimentsTests", dependencies: ["RLHFExperiments", "RLHFAlignment", "RLHFRollouts", "RLHFEvaluation", "_RLHFTestSupport"]),
        .testTarget(name: "ReferenceTests", dependencies: ["RLHFModel", "RLHFFormats", "RLHFTraining", "RLHFTokenizer", "_RLHFTestSupport"]),
        // Runs the built `rlhf` executable end to end.
        .testTarget(name: "CLITests", dependencies: ["_RLHFTestSupport", "rlhf"]),
    ]
)
