import ArgumentParser
import Foundation
import RLHF

/// `rlhf demo`: the five-minute story of RLHF with relative feedback and reward hacking, embedded
/// (nothing downloaded): ``ExperimentConfiguration/demo``.
struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "The story in five minutes: SFT, preferences, proxy reward models, P3O vs PPO vs DPO, reward hacking and ensembles.",
        discussion: """
            A small Llama learns a synthetic review language by SFT; a programmatic gold reward \
            (sentiment and coverage, minus penalties for repetition, ungrammatical, unfinished or \
            long text) labels pairs of its samples, 25% of labels flipped; bag-of-words proxy reward \
            models learn from them, alone and as an ensemble (mean, WCO, UWO); P3O V1/V2, PPO and \
            online DPO optimise the proxies at two β over 3 seeds while gold is watched. The table \
            shows proxy, gold and KL per setting; OUTPUT/report.html draws the frontiers and curves. \
            With --model, the same story on a real model (top blocks trainable; takes longer).
            """)

    @Option(help: "Directory for results.json and report.html.")
    var output: String = "runs/demo"

    @Option(help: "Seed of the whole demo (stage 1 uses it; RL seeds follow it).")
    var seed: UInt64 = 0

    @Option(help: "A real model to run the story on (.gguf or Hugging Face directory) instead of the embedded small Llama.")
    var model: String?

    @Option(help: "Blocks trained with --model (0: all).")
    var trainableBlocks: Int = 2

    @Option(help: "RL seeds per setting.")
    var seeds: Int = 3

    func run() throws {
        var configuration = model.map { ExperimentConfiguration.realModelDemo(model: $0, trainableBlocks: trainableBlocks) }
            ?? ExperimentConfiguration.demo
        configuration.seed = seed
        configuration.rlSeeds = seeds
        try ExperimentCommand.execute(configuration, output: output, title: "rlhf demo")
    }
}
