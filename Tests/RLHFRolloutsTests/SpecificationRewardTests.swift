import Foundation
import RLHFRollouts
import Testing

@Suite("--reward specifications and weighted sums")
struct SpecificationRewardTests {
    @Test func validSpecifications() throws {
        let cases: [(String, RewardSpecification)] = [
            ("rule:length:target=64", .rule(name: "length", arguments: ["target": "64"])),
            ("rule:length:target=64,unit=characters", .rule(name: "length", arguments: ["target": "64", "unit": "characters"])),
            ("rule:keyword:word=please", .rule(name: "keyword", arguments: ["word": "please"])),
            ("rule:exact-match:field=answer", .rule(name: "exact-match", arguments: ["field": "answer"])),
            ("rule:json", .rule(name: "json", arguments: [:])),
            ("rule:eos:", .rule(name: "eos", arguments: [:])),
            // Commas that do not start a new key=, and colons, stay in the value.
            ("rule:regex:pattern=^\\d{1,3}:\\d{2}$,ignore-case=true",
             .rule(name: "regex", arguments: ["pattern": "^\\d{1,3}:\\d{2}$", "ignore-case": "true"])),
            ("rule:keyword:word=a=b", .rule(name: "keyword", arguments: ["word": "a=b"])),
            ("command:python3 my_reward.py --mode a:b,c", .command("python3 my_reward.py --mode a:b,c")),
            ("command:  ./score.sh  ", .command("./score.sh")),
            ("model:runs/rm", .model(path: "runs/rm")),
            ("model:/data/rm:v2", .model(path: "/data/rm:v2")),
            ("ensemble:runs/ens", .ensemble(path: "runs/ens", combiner: nil, lambda: nil)),
            ("ensemble:runs/ens:wco", .ensemble(path: "runs/ens", combiner: "wco", lambda: nil)),
            ("ensemble:runs/ens:UWO", .ensemble(path: "runs/ens", combiner: "uwo", lambda: nil)),
            ("ensemble:runs/ens:worst-case", .ensemble(path: "runs/ens", combiner: "wco", lambda: nil)),
            ("ensemble:runs/ens:uwo:lambda=0.5", .ensemble(path: "runs/ens", combiner: "uwo", lambda: 0.5)),
            ("ensemble:/data/v1:2/ens:mean", .ensemble(path: "/data/v1:2/ens", combiner: "mean", lambda: nil)),
        ]
        for (text, expected) in cases {
            let parsed = try RewardSpecification(parsing: text)
            #expect(parsed == expected, "\(text)")
            #expect(try RewardSpecification(parsing: parsed.description) == parsed, "\(text) → \(parsed.description)")
        }
        #expect(RewardSpecification.rule(name: "length", arguments: ["unit": "tokens", "target": "8"]).description
            == "rule:length:target=8,unit=tokens")
        #expect(RewardSpecification.ensemble(path: "e", combiner: "uwo", lambda: 0.25).description == "ensemble:e:uwo:lambda=0.25")
    }

    @Test func invalidSpecifications() {
        let cases: [(String, String)] = [
            ("", "empty; expected rule:NAME"),
            ("length", "no kind; expected rule:NAME[:key=value,…], command:SHELL COMMAND, model:PATH or ensemble:PATH"),
            ("reward:x", "unknown kind 'reward'"),
            ("Rule:length", "unknown kind 'Rule'"),
            ("rule:", "no rule name"),
            ("rule:lenght:target=3", "unknown rule 'lenght' (known: length, keyword, regex, repetition, json, exact-match, eos)"),
            ("rule:length:target", "expected key=value arguments, found 'target'"),
            ("rule:length:=3", "expected key=value arguments, found '=3'"),
            ("rule:length:target=1,target=2", "argument 'target' given twice"),
            ("command:", "no command after 'command:'"),
            ("command:   ", "no command after 'command:'"),
            ("model:", "no path after 'model:'"),
            ("ensemble:", "no path after 'ensemble:'"),
            ("ensemble::uwo", "no path after 'ensemble:'"),
            ("ensemble:runs/ens:median", "unknown combiner 'median' (known: mean, wco, uwo)"),
            ("ensemble:runs/ens:mean:lambda=0.5", "lambda applies only to the uwo combiner, not mean"),
            ("ensemble:runs/ens:uwo:lambda=-1", "invalid lambda '-1'"),
            ("ensemble:runs/ens:uwo:lambda=inf", "invalid lambda 'inf'"),
            ("ensemble:runs/ens:lambda=0.5", "lambda needs a combiner before it"),
        ]
        for (text, expected) in cases {
            let error = rewardError { _ = try RewardSpecification(parsing: text) }
            #expect(error?.source == "specification '\(text)'")
            #expect(error?.reason.contains(expected) == true, "\(text): \(error?.reason ?? "no error")")
        }
    }

    /// A source that returns fixed scores, whatever the batch.
    struct Fixed: RewardSource {
        let name: String
        let values: [Double]
        func scores(for inputs: [RewardInput]) throws -> [Double] { values }
    }

    @Test func weightedSum() throws {
        let inputs = [true, false].map { RewardInput(prompt: "p", response: "abcd", endedWithEOS: $0) }
        let length = try ProgrammaticReward.make(name: "length", arguments: ["target": "2", "unit": "characters"])
        let eos = try ProgrammaticReward.make(name: "eos", arguments: [:])
        let weights = try WeightedRewardSum.parseWeights("1, 0.5", count: 2)
        #expect(weights == [1, 0.5])
        let sum = try WeightedRewardSum(sources: [length, eos], weights: weights)
        #expect(sum.name == "1*length(target=2,unit=characters) + 0.5*eos")
        // length: −|4 − 2|/2 = −1 for both; eos: 0, −1.
        #expect(try sum.scores(for: inputs) == [-1, -1.5])
        let parts = try sum.componentScores(for: inputs)
        #expect(parts.components == [[-1, -1], [0, -1]])
        #expect(try WeightedRewardSum(sources: [eos]).scores(for: inputs) == [0, -1])
    }

    @Test func weightedSumErrors() throws {
        let inputs = rewardInputs(["a", "b"])
        #expect(rewardError { _ = try WeightedRewardSum.parseWeights("1,x", count: 2) }?.reason == "'x' is not a finite number")
        #expect(rewardError { _ = try WeightedRewardSum.parseWeights("1,nan", count: 2) }?.reason == "'nan' is not a finite number")
        #expect(rewardError { _ = try WeightedRewardSum.parseWeights("1", count: 2) }?.reason == "1 weight for 2 reward sources")
        #expect(rewardError { _ = try WeightedRewardSum(sources: []) }?.reason == "no reward sources")
        let eos = EOSPenalty()
        #expect(rewardError { _ = try WeightedRewardSum(sources: [eos], weights: [1, 2]) }?.reason == "2 weights for 1 reward source")
        #expect(rewardError { _ = try WeightedRewardSum(sources: [eos], weights: [.infinity]) }?.reason == "weight inf of eos is not finite")
        let short = try WeightedRewardSum(sources: [eos, Fixed(name: "short", values: [1])])
        #expect(rewardError { _ = try short.scores(for: inputs) }?.description == "reward short: returned 1 scores for 2 responses")
        let nan = try WeightedRewardSum(sources: [Fixed(name: "nan", values: [1, .nan])])
        #expect(rewardError { _ = try nan.scores(for: inputs) }?.reason == "response 2 of 2: score nan is not finite")
    }
}
