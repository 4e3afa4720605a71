import ArgumentParser
import RLHF

@main
struct RLHFCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rlhf",
        abstract: "Align language models with human or AI preferences: SFT, reward models, P3O, PPO, DPO.",
        subcommands: [SFTCommand.self, RewardCommand.self, EvaluateCommand.self, GenerateCommand.self, LogProbsCommand.self, InspectCommand.self, BenchCommand.self])
}
