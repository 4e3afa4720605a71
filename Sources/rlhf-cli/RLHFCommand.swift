import ArgumentParser
import RLHF

@main
struct RLHFCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rlhf",
        abstract: "Align language models with human or AI preferences: SFT, reward models, P3O, PPO, DPO.",
        discussion: """
            Every subcommand takes --config FILE: a JSON or YAML file (as TRL's) mapping option names, \
            in snake or kebab case (learning_rate or learning-rate), to strings, numbers, true/false \
            for flags, or lists for repeatable options. The file's settings come first; an option \
            also given on the command line replaces the file's value(s). Example: \
            rlhf sft --config runs/sft.yaml --steps 10
            """,
        subcommands: [DemoCommand.self, ExperimentCommand.self, SFTCommand.self, RewardCommand.self, DPOCommand.self, KTOCommand.self, P3OCommand.self, RLOOCommand.self, GRPOCommand.self, PPOCommand.self, OnlineDPOCommand.self, BestOfNCommand.self, EvaluateCommand.self, GenerateCommand.self, LogProbsCommand.self, InspectCommand.self, BenchCommand.self])

    /// Expands `--config FILE` into the file's options (``ConfigFile``), then parses and runs as
    /// ArgumentParser's own `main` does; a config-file problem ends the program with one error line.
    static func main() {
        let arguments: [String]
        do {
            arguments = try ConfigFile.expand(Array(CommandLine.arguments.dropFirst()), root: Self.self)
        } catch {
            exit(withError: error)
        }
        main(arguments)
    }
}
