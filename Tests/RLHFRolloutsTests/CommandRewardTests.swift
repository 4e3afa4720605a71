import Foundation
import RLHFData
import RLHFRollouts
import Testing
import _RLHFTestSupport
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

@Suite("External command rewards")
struct CommandRewardTests {
    static func script(_ name: String) -> String {
        "python3 '\(ReferencePaths.packageRoot)/Tests/Fixtures/reward-scripts/\(name)'"
    }

    static func source(_ name: String, timeout: Duration = .seconds(20)) throws -> CommandReward {
        try CommandReward(command: script(name), timeout: timeout)
    }

    @Test func requestLines() throws {
        let input = RewardInput(
            prompt: "Q: 1+1?\n", response: "A \"two\"/2",
            fields: ["id": .string("x"), "answer": .number(2), "prompt": .string("not this"), "response": .null,
                     "meta": .object(["ok": .bool(true), "tags": .array([.number(0.5), .null])])])
        #expect(try CommandReward.requestLine(for: input)
            == #"{"prompt":"Q: 1+1?\n","response":"A \"two\"/2","answer":2,"id":"x","meta":{"ok":true,"tags":[0.5,null]}}"#)
        let bad = RewardInput(prompt: "p", response: "r", fields: ["x": .number(.nan)])
        #expect(throws: (any Error).self) { _ = try CommandReward.requestLine(for: bad) }
    }

    @Test func scoresTwoBatchesWithOneProcess() throws {
        let source = try Self.source("length_reward.py")
        #expect(source.name == "command(\(Self.script("length_reward.py")))")
        let first = try source.scores(for: [
            RewardInput(prompt: "p", response: "hello", fields: ["bonus": .number(0.5)]),
            RewardInput(prompt: "p", response: "abc", fields: ["report": .string("count")]),
            RewardInput(prompt: "p", response: "x", fields: ["echo": .string("answer"), "answer": .number(7)]),
            // A field called "response" does not replace the response.
            RewardInput(prompt: "p", response: "hi", fields: ["response": .string("a much longer fake response")]),
            RewardInput(prompt: "What?", response: "", fields: ["report": .string("prompt")]),
        ])
        #expect(first == [5.5, 2, 7, 2, 5])
        // The same process answers the next batch: it has read 5 requests so far.
        let second = try source.scores(for: [
            RewardInput(prompt: "p", response: "", fields: ["report": .string("count")]),
            RewardInput(prompt: "p", response: "", fields: ["report": .string("count")]),
        ])
        #expect(second == [6, 7])
        #expect(try source.scores(for: []) == [])
        #expect(try source.scores(for: rewardInputs(["ünï"])) == [3])
    }

    @Test func rewardObjects() throws {
        let source = try Self.source("json_object.py")
        #expect(try source.scores(for: rewardInputs(["abcd", "", "abc"])) == [2, 0, 1.5])
    }

    @Test func concurrentCallersTakeTurns() async throws {
        let source = try Self.source("json_object.py")
        try await withThrowingTaskGroup(of: Void.self) { group in
            for length in 1...4 {
                group.addTask {
                    let texts = (0..<5).map { String(repeating: "x", count: 2 * (length + $0)) }
                    let scores = try source.scores(for: rewardInputs(texts))
                    #expect(scores == (0..<5).map { Double(length + $0) })
                }
            }
            try await group.waitForAll()
        }
    }

    @Test func crashNamesTheResponseAndShowsStandardError() throws {
        let source = try Self.source("crash.py")
        let error = rewardError { _ = try source.scores(for: rewardInputs(["a", "b"])) }
        let reason = error?.reason ?? ""
        #expect(reason.hasPrefix("response 1 of 2: the command exited with status 3 before answering"), "\(reason)")
        #expect(reason.contains("crash.py: simulated failure while scoring"), "\(reason)")
        // The source is spent: later calls say why.
        let later = rewardError { _ = try source.scores(for: rewardInputs(["c"])) }
        #expect(later?.reason.hasPrefix("unusable after an earlier failure (response 1 of 2: the command exited with status 3") == true)
    }

    @Test func crashWhileTheBatchIsStillBeingWritten() throws {
        // 4 × 200 KB: the writer is still writing when the process exits; the write fails with
        // EPIPE (no SIGPIPE for this process) and the error is the exit.
        let source = try Self.source("crash.py")
        let big = String(repeating: "y", count: 200_000)
        let error = rewardError { _ = try source.scores(for: rewardInputs([big, big, big, big])) }
        #expect(error?.reason.hasPrefix("response 1 of 4: the command exited with status 3") == true, "\(error?.reason ?? "")")
    }

    @Test func missingProgram() throws {
        let source = try CommandReward(command: "definitely-not-a-command-swift-rlhf --flag")
        let reason = rewardError { _ = try source.scores(for: rewardInputs(["a"])) }?.reason ?? ""
        #expect(reason.hasPrefix("response 1 of 1: the command exited with status 127 before answering"), "\(reason)")
        #expect(reason.contains("not found"), "\(reason)")
    }

    @Test func killedBySignal() throws {
        let source = try CommandReward(command: "read line; kill -9 $$")
        let reason = rewardError { _ = try source.scores(for: rewardInputs(["a"])) }?.reason ?? ""
        #expect(reason.hasPrefix("response 1 of 1: the command was killed by signal 9"), "\(reason)")
    }

    @Test func garbageIsQuoted() throws {
        let source = try Self.source("garbage.py")
        let error = rewardError { _ = try source.scores(for: rewardInputs(["a", "b"])) }
        #expect(error?.reason
            == "response 1 of 2: the command answered 'not a number', which is neither a number nor {\"reward\": number}")
    }

    @Test(arguments: [
        ("nan", "'nan', which is not a finite number"),
        ("-inf", "'-inf', which is not a finite number"),
        ("{\"reward\": NaN}", "'{\"reward\": NaN}', whose reward is not finite"),
        ("{\"reward\": 1e999}", "'{\"reward\": 1e999}', whose reward is not finite"),
        ("{\"reward\": -1e+999}", "'{\"reward\": -1e+999}', whose reward is not finite"),
        ("{\"reward\": \"high\"}", "'{\"reward\": \"high\"}', whose \"reward\" is a string, not a number"),
        ("{\"score\": 1}", "'{\"score\": 1}', an object without a \"reward\" member"),
        ("true", "'true', which is neither a number nor {\"reward\": number}"),
        ("", "an empty line, not a number or {\"reward\": number}"),
        (String(repeating: "7", count: 130) + "x", "'" + String(repeating: "7", count: 120) + "…', which is neither a number nor {\"reward\": number}"),
    ])
    func malformedAnswers(raw: String, expected: String) throws {
        let source = try Self.source("length_reward.py")
        let inputs = [RewardInput(prompt: "p", response: "ok"), RewardInput(prompt: "p", response: "r", fields: ["raw": .string(raw)])]
        let error = rewardError { _ = try source.scores(for: inputs) }
        #expect(error?.reason == "response 2 of 2: the command answered \(expected)")
    }

    @Test func acceptedAnswerForms() throws {
        let source = try Self.source("length_reward.py")
        let raws = ["3", " -1.5 ", "2e-1", "{\"reward\": 4, \"why\": \"x\"}", "{\"reward\":-0.25}", "5\r"]
        let inputs = raws.map { RewardInput(prompt: "p", response: "r", fields: ["raw": .string($0)]) }
        #expect(try source.scores(for: inputs) == [3, -1.5, 0.2, 4, -0.25, 5])
    }

    @Test func hangTimesOutAndKills() throws {
        let source = try Self.source("hang.py", timeout: .seconds(1))
        let start = ContinuousClock.now
        let error = rewardError { _ = try source.scores(for: rewardInputs(["a", "b"])) }
        let waited = ContinuousClock.now - start
        #expect(error?.reason == "response 1 of 2: no answer within 1 s of sending the batch (the timeout); the command was killed")
        #expect(waited >= .seconds(1) && waited < .seconds(3), "\(waited)")
        let later = rewardError { _ = try source.scores(for: rewardInputs(["c"])) }
        #expect(later?.reason.hasPrefix("unusable after an earlier failure (response 1 of 2: no answer within 1 s") == true)
        #expect(Self.hasEnded(source.processIdentifier))
    }

    @Test func wrongCount() throws {
        let source = try Self.source("wrong_count.py")
        let error = rewardError { _ = try source.scores(for: rewardInputs(["ab", "cde"])) }
        #expect(error?.reason == "the command wrote more lines than the 2 responses of the batch: after answering response 2 of 2 it wrote '3'")
    }

    @Test func strayOutputBeforeABatch() throws {
        // A banner on standard output is not an answer.
        let source = try CommandReward(command: "echo hello; " + Self.script("length_reward.py"))
        let reason = rewardError { _ = try source.scores(for: rewardInputs(["a"])) }?.reason ?? ""
        #expect(reason.contains("'hello'"), "\(reason)")
    }

    @Test func deinitializationEndsTheProcess() throws {
        var identifier: Int32 = 0
        do {
            let source = try Self.source("hang.py")
            identifier = source.processIdentifier
            #expect(!Self.hasEnded(identifier, waiting: .zero))
        }
        #expect(Self.hasEnded(identifier))
    }

    /// Whether process `identifier` is gone (or a zombie), waiting up to `waiting` for it.
    static func hasEnded(_ identifier: Int32, waiting: Duration = .seconds(3)) -> Bool {
        let deadline = ContinuousClock.now + waiting
        repeat {
            if kill(identifier, 0) != 0 { return true }
            #if os(Linux)
            if let stat = try? String(contentsOfFile: "/proc/\(identifier)/stat", encoding: .utf8),
               let close = stat.lastIndex(of: ")"), stat[stat.index(close, offsetBy: 2)] == "Z" { return true }
            #endif
            usleep(10_000)
        } while ContinuousClock.now < deadline
        return false
    }
}
