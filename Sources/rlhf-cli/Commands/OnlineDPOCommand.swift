import ArgumentParser
import RLHF

/// `rlhf online-dpo`: DPO on pairs sampled from the current policy and labelled by a reward source.
struct OnlineDPOCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "online-dpo",
        abstract: "Online DPO: pairs from the current policy, labelled by --reward, a DPO-family loss.",
        discussion: """
            Each step samples two responses to each of --prompts-per-step prompts, labels the \
            higher-scored one chosen (ties carry no label and are left out), and minimises the \
            --loss-type loss of β·(log-ratio of chosen − log-ratio of rejected) against the \
            reference (TRL OnlineDPOTrainer; the DPO baseline of the P3O paper). For DPO on a \
            fixed preference file, see rlhf dpo.
            """)

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var online: OnlineOptions
    @OptionGroup var rewardOptions: RewardOptions
    @OptionGroup var sampling: SamplingOptions

    @Option(help: "sigmoid (DPO), ipo, hinge or robust.") var lossType: String = "sigmoid"
    @Option(help: "β of the implicit reward (IPO: τ).") var beta: Double = 0.1
    @Option(help: "Label smoothing ε: conservative DPO with sigmoid, the noise rate with robust.") var labelSmoothing: Double = 0
    @Option(help: "Subtract this from the score of a response that ends without a stop token, before labelling.") var missingEosPenalty: Double?
    @Option(help: "Passes over each step's pairs.") var epochs: Int = 1
    @Option(help: "Prompts per step (one pair each).") var promptsPerStep: Int = 16
    @Option(help: "Pairs per optimizer update (default: all of the step's).") var minibatchSize: Int?

    var kind: DirectPreference.Kind {
        switch lossType {
        case "ipo": return .ipo(lengthNormalized: false)
        case "hinge": return .hinge
        case "robust": return .robust(labelSmoothing: labelSmoothing)
        default: return labelSmoothing > 0 ? .conservative(labelSmoothing: labelSmoothing) : .sigmoid
        }
    }

    func validate() throws {
        guard ["sigmoid", "ipo", "hinge", "robust"].contains(lossType) else { throw ValidationError("--loss-type must be sigmoid, ipo, hinge or robust") }
        guard beta > 0, beta.isFinite else { throw ValidationError("--beta must be positive") }
        guard labelSmoothing >= 0, labelSmoothing < 0.5 else { throw ValidationError("--label-smoothing must be in [0, 0.5)") }
        if labelSmoothing > 0, lossType == "ipo" || lossType == "hinge" { throw ValidationError("--label-smoothing applies to sigmoid and robust only") }
        if let missingEosPenalty, !missingEosPenalty.isFinite { throw ValidationError("--missing-eos-penalty must be finite") }
        guard epochs > 0, promptsPerStep > 0 else { throw ValidationError("--epochs and --prompts-per-step must be positive") }
        if let minibatchSize, !(1...promptsPerStep).contains(minibatchSize) { throw ValidationError("--minibatch-size must be in 1...--prompts-per-step") }
    }

    func run() throws {
        var settings = OnlineDPOObjective.Parameters()
        settings.kind = kind
        settings.beta = beta
        settings.missingEOSPenalty = missingEosPenalty
        let parameters = online.parameters(sampling: sampling, promptsPerStep: promptsPerStep, epochs: epochs,
                                           groupsPerMinibatch: minibatchSize ?? promptsPerStep)
        try OnlineRun<OnlineDPOObjective>(model: modelOptions.model, options: online, reward: rewardOptions, parameters: parameters).run(
            settings: settings, describe: "\(lossType)\(labelSmoothing > 0 ? " (ε \(labelSmoothing))" : ""), β \(beta)"
        ) { _ in OnlineDPOObjective(parameters: settings) }
    }
}
