import Foundation
import RLHFData
import RLHFRollouts
import Testing

/// The `RewardError` `body` throws (recording an issue when it throws something else or nothing).
func rewardError(_ body: () throws -> Void, sourceLocation: SourceLocation = #_sourceLocation) -> RewardError? {
    do {
        try body()
        Issue.record("expected a RewardError, got none", sourceLocation: sourceLocation)
    } catch let error as RewardError {
        return error
    } catch {
        Issue.record("expected a RewardError, got \(error)", sourceLocation: sourceLocation)
    }
    return nil
}

func rewardInputs(_ texts: [String]) -> [RewardInput] { texts.map { RewardInput(prompt: "p", response: $0) } }

@Suite("Rule rewards")
struct ProgrammaticRewardTests {
    @Test func lengthInTokens() throws {
        let source = try ProgrammaticReward.make(name: "length", arguments: ["target": "4"])
        #expect(source.name == "length(target=4,unit=tokens)")
        let inputs = [4, 2, 0, 10].map { RewardInput(prompt: "p", response: $0 == 0 ? "" : "x", responseTokens: Array(0..<$0)) }
        #expect(try source.scores(for: inputs) == [0, -0.5, -1, -1.5])
        let error = rewardError {
            _ = try source.scores(for: [inputs[0], RewardInput(prompt: "p", response: "text, no tokens")])
        }
        #expect(error?.reason.contains("response 2 of 2") == true)
        #expect(error?.reason.contains("unit=characters") == true)
    }

    @Test func lengthInCharacters() throws {
        let source = try ProgrammaticReward.make(name: "length", arguments: ["target": "5", "unit": "characters"])
        // "héllo" with a precomposed é: 5 Unicode scalars, as Python's len counts.
        #expect(try source.scores(for: rewardInputs(["h\u{E9}llo", "hi", "", "0123456789"])) == [0, -0.6, -1, -1])
        #expect(try LengthReward(target: 2, unit: .characters).scores(for: rewardInputs(["e\u{301}"])) == [0])
    }

    @Test func keywordIsAWholeWordInAnyCase() throws {
        let source = try ProgrammaticReward.make(name: "keyword", arguments: ["word": "please"])
        let texts = ["Please help", "I am pleased", "say please!", "PLEASE", "", "pleaseplease", "(please)"]
        #expect(try source.scores(for: rewardInputs(texts)) == [1, 0, 1, 1, 0, 0, 1])
        let counting = try ProgrammaticReward.make(name: "keyword", arguments: ["word": "please", "count": "true"])
        #expect(try counting.scores(for: rewardInputs(["please, please and PLEASE; pleased", "no"])) == [3, 0])
        // Literal, punctuation and spaces included.
        let symbols = try KeywordReward(word: "C++")
        #expect(try symbols.scores(for: rewardInputs(["I like c++ a lot", "c++11", "C+"])) == [1, 0, 0])
        let phrase = try KeywordReward(word: "thank you")
        #expect(try phrase.scores(for: rewardInputs(["Thank you!", "thank  you", "thank your"])) == [1, 0, 0])
    }

    @Test func regexMatchesAnywhere() throws {
        let source = try ProgrammaticReward.make(name: "regex", arguments: ["pattern": "^\\d+$"])
        #expect(try source.scores(for: rewardInputs(["123", "12a", ""])) == [1, 0, 0])
        let anywhere = try RegexReward(pattern: "step \\d")
        #expect(try anywhere.scores(for: rewardInputs(["First, step 1.", "Step 1"])) == [1, 0])
        let ignoringCase = try ProgrammaticReward.make(name: "regex", arguments: ["pattern": "step \\d", "ignore-case": "true"])
        #expect(try ignoringCase.scores(for: rewardInputs(["Step 1"])) == [1])
        let error = rewardError { _ = try ProgrammaticReward.make(name: "regex", arguments: ["pattern": "(unclosed"]) }
        #expect(error?.reason.contains("invalid regular expression '(unclosed'") == true)
    }

    @Test func repetitionCountsRepeatedWordNGrams() throws {
        let source = try ProgrammaticReward.make(name: "repetition", arguments: [:])
        #expect(source.name == "repetition(n=3)")
        let scores = try source.scores(for: rewardInputs([
            "the cat sat on the mat",  // 4 trigrams, all distinct
            "a b c a b c",             // abc bca cab abc: 1 of 4 repeated
            "go go go go go",          // 3 trigrams, all "go go go": 2 repeated
            "one two",                 // fewer than 3 words
            "",
        ]))
        #expect(scores == [0, -0.25, -2.0 / 3.0, 0, 0])
        let bigrams = try ProgrammaticReward.make(name: "repetition", arguments: ["n": "2"])
        // Words are lowercased runs of letters and digits: the cat | the cat.
        #expect(try bigrams.scores(for: rewardInputs(["The cat. the CAT!"])) == [-1.0 / 3.0])
        #expect(RepetitionPenalty.words("It's 3 o'clock—now!") == ["it", "s", "3", "o", "clock", "now"])
    }

    @Test func jsonObjectOrArray() throws {
        let source = try ProgrammaticReward.make(name: "json", arguments: [:])
        let texts = ["{\"a\": 1}", "  [1, 2]\n", "\"text\"", "42", "{\"a\": }", "```json\n{}\n```", "", "{} trailing"]
        #expect(try source.scores(for: rewardInputs(texts)) == [1, 1, 0, 0, 0, 0, 0, 0])
    }

    @Test func exactMatchFindsTheFinalAnswer() throws {
        let source = try ProgrammaticReward.make(name: "exact-match", arguments: ["field": "answer"])
        func score(_ response: String, _ answer: JSONValue) throws -> Double {
            try source.scores(for: [RewardInput(prompt: "q", response: response, fields: ["answer": answer])])[0]
        }
        // After the last ####.
        #expect(try score("3 + 4 = 7, times 10 is 70, plus 2.\n#### 72", .number(72)) == 1)
        #expect(try score("#### 71\nI said 72", .number(72)) == 0)
        #expect(try score("#### 1,234", .string("1,234")) == 1)
        #expect(try score("#### $1,234.", .number(1234)) == 1)
        #expect(try score("#### -5", .number(-5)) == 1)
        // After the last "answer:", any case, up to the end of its line.
        #expect(try score("Answer: 72.0", .number(72)) == 1)
        #expect(try score("The answer:\n  42", .string("42")) == 1)
        #expect(try score("answer: 7\nbut then 9", .number(7)) == 1)
        #expect(try score("The answer: paris.", .string("Paris")) == 1)
        #expect(try score("ANSWER: New   York", .string("new york")) == 1)
        // Without a marker: the last number, or the whole response as text.
        #expect(try score("So she has 72 apples.", .number(72)) == 1)
        #expect(try score("I got 72, then 73", .number(72)) == 0)
        #expect(try score("3-4", .number(4)) == 1)
        #expect(try score("no number here", .number(1)) == 0)
        #expect(try score("Paris.", .string("paris")) == 1)
        #expect(try score("Paris is the answer", .string("Paris")) == 0)
    }

    @Test func exactMatchNeedsTheField() throws {
        let source = try ProgrammaticReward.make(name: "exact-match", arguments: [:])
        #expect(source.name == "exact-match(field=answer)")
        let inputs = [
            RewardInput(prompt: "q", response: "#### 1", fields: ["answer": .number(1)]),
            RewardInput(prompt: "q", response: "#### 1", fields: ["solution": .number(1)]),
            RewardInput(prompt: "q", response: "#### 1", fields: ["answer": .array([.number(1)])]),
        ]
        let missing = rewardError { _ = try source.scores(for: inputs) }
        #expect(missing?.reason == "response 2 of 3: its prompt record has no field 'answer'")
        let wrongKind = rewardError { _ = try source.scores(for: [inputs[0], inputs[2]]) }
        #expect(wrongKind?.reason == "response 2 of 2: field 'answer' is an array, not a string or number")
    }

    @Test func eosPenalty() throws {
        let source = try ProgrammaticReward.make(name: "eos", arguments: [:])
        let inputs = [true, false].map { RewardInput(prompt: "p", response: "r", endedWithEOS: $0) }
        #expect(try source.scores(for: inputs) == [0, -1])
    }

    @Test func everyRuleIsListedAndBuilds() throws {
        #expect(ProgrammaticReward.names == ["length", "keyword", "regex", "repetition", "json", "exact-match", "eos"])
        let samples: [String: [String: String]] = [
            "length": ["target": "8"], "keyword": ["word": "w"], "regex": ["pattern": "a"],
        ]
        for rule in ProgrammaticReward.rules {
            #expect(!rule.summary.isEmpty)
            let source = try ProgrammaticReward.make(name: rule.name, arguments: samples[rule.name] ?? [:])
            #expect(source.name.hasPrefix(rule.name))
            #expect(try source.scores(for: []) == [])
        }
    }

    @Test func registryErrors() {
        func reason(_ name: String, _ arguments: [String: String]) -> String? {
            rewardError { _ = try ProgrammaticReward.make(name: name, arguments: arguments) }?.description
        }
        #expect(reason("lenght", [:])
            == "reward rule lenght: unknown rule 'lenght' (known: length, keyword, regex, repetition, json, exact-match, eos)")
        #expect(reason("length", [:]) == "reward rule length: missing argument 'target' (usage: rule:length:target=N[,unit=tokens|characters])")
        #expect(reason("length", ["target": "64", "colour": "red"])
            == "reward rule length: unknown argument 'colour' (known: target, unit)")
        #expect(reason("length", ["target": "0"]) == "reward rule length: invalid value '0' for 'target': expected a positive integer")
        #expect(reason("length", ["target": "ten"]) == "reward rule length: invalid value 'ten' for 'target': expected a positive integer")
        #expect(reason("length", ["target": "4", "unit": "bytes"])
            == "reward rule length: invalid value 'bytes' for 'unit': expected tokens or characters")
        #expect(reason("keyword", ["word": ""]) == "reward rule keyword: the word must not be empty")
        #expect(reason("keyword", ["word": "a", "count": "yes"])
            == "reward rule keyword: invalid value 'yes' for 'count': expected true or false")
        #expect(reason("repetition", ["n": "0"]) == "reward rule repetition: invalid value '0' for 'n': expected a positive integer")
        #expect(reason("json", ["strict": "true"]) == "reward rule json: unknown argument 'strict' (it takes none)")
        #expect(reason("eos", ["a": "1", "b": "2"]) == "reward rule eos: unknown arguments 'a', 'b' (it takes none)")
        #expect(reason("exact-match", ["field": ""])
            == "reward rule exact-match: invalid value '' for 'field': expected a field name")
    }
}
