import Dispatch
import Foundation
import RLHFData
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// An external program as a reward source (`--reward 'command:python3 my_reward.py'`).
///
/// One long-lived process, `/bin/sh -c COMMAND`, started by the initializer, scores every batch.
///
/// **Protocol.** For each response of a batch the process reads one line on its standard input, a
/// JSON object `{"prompt": …, "response": …, <the prompt record's other fields>…}` (a field named
/// `prompt` or `response` never overrides those two; fields are written in key order), and writes
/// one line on its standard output: a number (`0.5`, `-1`, `3e-2`) or an object with a numeric
/// `"reward"` member (`{"reward": 0.5, …}`, other members ignored). Answers come in request order.
/// All N requests of a batch are written (from a writer thread, so a process answering line by
/// line never deadlocks on full pipes), then N answers are read. The process should flush its
/// output after each answer; `PYTHONUNBUFFERED=1` is set for it unless the environment already
/// has it. The process is in its own process group; standard error is collected (its last 8 KiB)
/// for error messages and never blocks the process.
///
/// **Errors.** Nothing is ever scored with a made-up value. Each of these is a ``RewardError``
/// naming the response ("response 3 of 8"): the process exits or is killed before answering (with
/// its exit status or signal and the end of its standard error); an answer that is not a number
/// or `{"reward": number}` (quoted, truncated); a NaN or infinite answer; no answer within
/// ``timeout`` of sending the batch (the process is killed); output before a batch was sent, or
/// more lines than requests. Extra lines are detected when they are already there after the
/// batch's last answer or arrive within ``extraOutputWait`` of it (or by the start of the next
/// batch); a program that writes them later than that, for the previous batch, goes unnoticed
/// until the next batch starts — that batch then fails.
///
/// **After an error** the process is killed (its whole process group) and the source is spent:
/// every later call fails with an error quoting the first one. Create a new `CommandReward` to
/// start over; nothing is restarted behind the caller's back.
///
/// On deinitialization the process's standard input is closed (a well-behaved program then exits
/// by itself); a process still running 0.1 s later gets SIGTERM, and SIGKILL after 0.5 s more.
///
/// Calls are serialized: concurrent callers take turns.
public final class CommandReward: RewardSource {
    public let name: String
    /// The shell command line, as given.
    public let command: String
    /// How long one batch may take, from sending it to its last answer.
    public let timeout: Duration
    /// How long to watch for extra output after a batch's last answer.
    public let extraOutputWait: Duration
    private let session: Mutex<Session>

    /// Starts `/bin/sh -c command`.
    /// - Parameters:
    ///   - timeout: the limit for one batch (default 60 s).
    ///   - extraOutputWait: how long to watch for lines beyond the batch's answers (default 50 ms).
    ///   - workingDirectory: the process's working directory (default: this process's).
    ///   - environment: the process's environment (default: this process's).
    /// - Throws: ``RewardError`` when the shell cannot be started. A command that does not exist
    ///   starts (the shell does) and fails the first batch with the shell's message.
    public init(
        command: String, timeout: Duration = .seconds(60), extraOutputWait: Duration = .milliseconds(50),
        workingDirectory: String? = nil, environment: [String: String]? = nil
    ) throws {
        precondition(timeout > .zero, "CommandReward: the timeout must be positive")
        self.command = command
        self.name = "command(\(command))"
        self.timeout = timeout
        self.extraOutputWait = extraOutputWait
        let session = try Session(
            name: name, command: command, timeout: timeout, extraOutputWait: extraOutputWait,
            workingDirectory: workingDirectory, environment: environment)
        self.session = Mutex(session)
    }

    deinit {
        session.withLock { $0.shutDown() }
    }

    /// The process id of the shell (or of the program, when the shell executes it in its place).
    public var processIdentifier: Int32 { session.withLock { $0.processIdentifier } }

    public func scores(for inputs: [RewardInput]) throws -> [Double] {
        try session.withLock { session throws -> [Double] in try session.score(inputs) }
    }

    /// The request line for one response, without its newline: `{"prompt":…,"response":…,…}`.
    /// - Throws: when a field cannot be encoded (a non-finite number).
    public static func requestLine(for input: RewardInput) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        func json<Value: Encodable>(_ value: Value) throws -> String {
            String(decoding: try encoder.encode(value), as: UTF8.self)
        }
        var line = "{\"prompt\":" + (try json(input.prompt)) + ",\"response\":" + (try json(input.response))
        for (key, value) in input.fields.sorted(by: { $0.key < $1.key }) where key != "prompt" && key != "response" {
            line += "," + (try json(key)) + ":" + (try json(value))
        }
        return line + "}"
    }

    /// Reads one answer line: a finite number, or an object with a finite numeric `reward`.
    /// - Returns: the score, or why the line is not an answer.
    static func parseAnswer(_ line: String) -> Result<Double, AnswerError> {
        let text = line.trimmingCharacters(in: .whitespaces)
        if text.isEmpty { return .failure(.init(reason: "an empty line, not a number or {\"reward\": number}")) }
        if let value = Double(text) {
            return value.isFinite ? .success(value) : .failure(.init(reason: "\(quote(text)), which is not a finite number"))
        }
        if text.first == "{", let data = text.data(using: .utf8),
           let object = (try? JSONSerialization.jsonObject(with: data)).map(JSONValue.init(foundation:))?.object {
            switch object["reward"] {
            case let .number(value)?:
                return value.isFinite ? .success(value) : .failure(.init(reason: "\(quote(text)), whose reward is not finite"))
            case let other?:
                return .failure(.init(reason: "\(quote(text)), whose \"reward\" is \(other.kindDescription), not a number"))
            case nil:
                return .failure(.init(reason: "\(quote(text)), an object without a \"reward\" member"))
            }
        }
        // Not JSON, but maybe only because of its number: NaN, Infinity (Python's json.dumps
        // writes them) or one too large for a Double.
        if let member = text.range(of: "\"reward\"\\s*:\\s*[-+]?[A-Za-z0-9.+-]+", options: .regularExpression) {
            let token = text[member].drop { $0 != ":" }.dropFirst().trimmingCharacters(in: .whitespaces)
            if let value = Double(token), !value.isFinite {
                return .failure(.init(reason: "\(quote(text)), whose reward is not finite"))
            }
        }
        return .failure(.init(reason: "\(quote(text)), which is neither a number nor {\"reward\": number}"))
    }

    struct AnswerError: Error { let reason: String }

    /// `'text'`, cut to 120 characters.
    static func quote(_ text: String) -> String {
        text.count > 120 ? "'\(text.prefix(120))…'" : "'\(text)'"
    }
}

// MARK: - The process and its pipes

/// Everything about the running process; only ever used under `CommandReward.session`'s lock.
private final class Session {
    static let maximumLineBytes = 1 << 20

    let name: String
    let timeout: Duration
    let extraOutputWait: Duration
    let process: Process
    let processIdentifier: Int32
    /// The read end of the process's standard output, owned here.
    let output: Int32
    let writer: StandardInputWriter
    let errors: StandardErrorTail
    let exit: ExitStatus
    /// Bytes read from standard output and not yet consumed as answers.
    var pending: [UInt8] = []
    var outputClosed = false
    var failure: RewardError?
    var isShutDown = false

    init(name: String, command: String, timeout: Duration, extraOutputWait: Duration,
         workingDirectory: String?, environment: [String: String]?) throws {
        self.name = name
        self.timeout = timeout
        self.extraOutputWait = extraOutputWait
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", command]
        var environment = environment ?? ProcessInfo.processInfo.environment
        if environment["PYTHONUNBUFFERED"] == nil { environment["PYTHONUNBUFFERED"] = "1" }
        process.environment = environment
        if let workingDirectory { process.currentDirectoryURL = URL(fileURLWithPath: workingDirectory, isDirectory: true) }
        let input = Pipe(), output = Pipe(), errors = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = errors
        let exit = ExitStatus()
        process.terminationHandler = { exit.record($0) }
        do {
            try process.run()
        } catch {
            throw RewardError(source: name, reason: "could not start /bin/sh -c \(command): \(error.localizedDescription)")
        }
        // Take over the parent's ends of the pipes as plain descriptors (close-on-exec), each with
        // one owner: the writer thread, the standard-error thread, and this session.
        func adopt(_ handle: FileHandle) -> Int32 {
            let descriptor = fcntl(handle.fileDescriptor, F_DUPFD_CLOEXEC, 0)
            try? handle.close()
            return descriptor
        }
        let inputDescriptor = adopt(input.fileHandleForWriting)
        let outputDescriptor = adopt(output.fileHandleForReading)
        let errorDescriptor = adopt(errors.fileHandleForReading)
        self.process = process
        self.processIdentifier = process.processIdentifier
        self.exit = exit
        self.output = outputDescriptor
        self.writer = StandardInputWriter(descriptor: inputDescriptor)
        self.errors = StandardErrorTail(descriptor: errorDescriptor)
        if inputDescriptor < 0 || outputDescriptor < 0 || errorDescriptor < 0 {
            let reason = String(cString: strerror(errno))
            shutDown()
            throw RewardError(source: name, reason: "could not set up the pipes: \(reason)")
        }
    }

    func error(_ reason: String) -> RewardError { RewardError(source: name, reason: reason) }

    func score(_ inputs: [RewardInput]) throws -> [Double] {
        if let failure {
            throw error("unusable after an earlier failure (\(failure.reason)); create a new source to restart the command")
        }
        guard !inputs.isEmpty else { return [] }
        var payload: [UInt8] = []
        for (index, input) in inputs.enumerated() {
            do {
                payload += Array(try CommandReward.requestLine(for: input).utf8)
                payload.append(10)
            } catch {
                // Nothing was sent: the process is still in step.
                throw self.error("\(responseLabel(index, of: inputs.count)): its request cannot be encoded as JSON: \(error)")
            }
        }
        do {
            try checkForStrayOutput(before: responseLabel(0, of: inputs.count))
            writer.send(payload)
            let deadline = ContinuousClock.now + timeout
            var scores: [Double] = []
            scores.reserveCapacity(inputs.count)
            for index in inputs.indices {
                let label = responseLabel(index, of: inputs.count)
                let line = String(decoding: try readLine(deadline: deadline, label: label), as: UTF8.self)
                switch CommandReward.parseAnswer(line) {
                case let .success(value): scores.append(value)
                case let .failure(answer): throw error("\(label): the command answered \(answer.reason)")
                }
            }
            try checkForExtraOutput(count: inputs.count)
            return scores
        } catch let failure as RewardError {
            self.failure = failure
            stopProcess()
            throw failure
        }
    }

    // MARK: Reading standard output

    enum ReadOutcome { case data, endOfFile, nothing }

    /// Waits up to `milliseconds` for standard output to be readable, then reads what is there.
    func readAvailable(waitingMilliseconds milliseconds: Int32) -> ReadOutcome {
        var descriptor = pollfd(fd: output, events: Int16(POLLIN), revents: 0)
        let ready = poll(&descriptor, 1, milliseconds)
        if ready < 0 { return errno == EINTR ? .nothing : .endOfFile }
        if ready == 0 { return .nothing }
        var buffer = [UInt8](repeating: 0, count: 65536)
        let count = buffer.withUnsafeMutableBytes { read(output, $0.baseAddress, $0.count) }
        if count > 0 {
            pending += buffer[..<count]
            return .data
        }
        if count < 0 && (errno == EINTR || errno == EAGAIN) { return .nothing }
        return .endOfFile
    }

    /// The next line of standard output (without its `\n` or `\r\n`).
    func readLine(deadline: ContinuousClock.Instant, label: String) throws -> [UInt8] {
        var exited = false
        while true {
            if let newline = pending.firstIndex(of: 10) {
                var line = Array(pending[..<newline])
                pending.removeSubrange(...newline)
                if line.last == 13 { line.removeLast() }
                return line
            }
            if pending.count > Self.maximumLineBytes {
                throw error("\(label): the command wrote a line longer than 1 MiB without a newline")
            }
            if outputClosed { throw endedError(label) }
            let remaining = deadline - .now
            if remaining <= .zero { throw timeoutError(label) }
            switch readAvailable(waitingMilliseconds: exited ? 0 : Int32(min(50, milliseconds(remaining)).rounded(.up))) {
            case .data: continue
            case .endOfFile: outputClosed = true
            case .nothing:
                // The process has exited and nothing is left to read: its output is over even if
                // some other process holds a copy of the pipe.
                if exited { outputClosed = true } else if exit.outcome != nil { exited = true }
            }
        }
    }

    func checkForStrayOutput(before label: String) throws {
        if pending.isEmpty, case .endOfFile = readAvailable(waitingMilliseconds: 0) { outputClosed = true }
        guard pending.isEmpty else {
            throw error("before \(label): the command wrote output that answers no request: \(quotedFirstLine())")
        }
    }

    func checkForExtraOutput(count: Int) throws {
        if pending.isEmpty, case .endOfFile = readAvailable(waitingMilliseconds: Int32(milliseconds(extraOutputWait).rounded(.up))) {
            outputClosed = true
        }
        guard pending.isEmpty else {
            throw error(
                "the command wrote more lines than the \(count) response\(count == 1 ? "" : "s") of the batch: "
                    + "after answering \(responseLabel(count - 1, of: count)) it wrote \(quotedFirstLine())")
        }
    }

    func quotedFirstLine() -> String {
        let line = pending.firstIndex(of: 10).map { Array(pending[..<$0]) } ?? pending
        return CommandReward.quote(String(decoding: line, as: UTF8.self))
    }

    // MARK: Errors

    func endedError(_ label: String) -> RewardError {
        let outcome = exit.wait(timeout: .seconds(2))
        _ = errors.waitForEnd(timeout: .seconds(1))
        var reason = "\(label): the command "
        switch outcome {
        case let .exited(status)?: reason += "exited with status \(status)"
        case let .signaled(signal)?: reason += "was killed by signal \(signal) (\(String(cString: strsignal(signal))))"
        case nil: reason += "closed its standard output"
        }
        reason += " before answering"
        if !pending.isEmpty { reason += " (its last line was unterminated: \(quotedFirstLine()))" }
        return error(reason + standardErrorSummary(sayNothing: true))
    }

    func timeoutError(_ label: String) -> RewardError {
        error("\(label): no answer within \(seconds(timeout)) of sending the batch (the timeout); the command was killed"
            + standardErrorSummary(sayNothing: false))
    }

    func standardErrorSummary(sayNothing: Bool) -> String {
        let tail = errors.tail()
        if tail.isEmpty { return sayNothing ? "; it wrote nothing to standard error" : "" }
        return "; its standard error ended with:\n    " + tail.joined(separator: "\n    ")
    }

    // MARK: Stopping

    /// Sends `signal` to the process group (the shell and everything it started).
    func signalProcessGroup(_ signal: Int32) {
        guard exit.outcome == nil else { return }
        if getpgid(processIdentifier) == processIdentifier { kill(-processIdentifier, signal) } else { kill(processIdentifier, signal) }
    }

    /// Kills the process after a failure.
    func stopProcess() {
        signalProcessGroup(SIGKILL)
        writer.close()
    }

    func shutDown() {
        guard !isShutDown else { return }
        isShutDown = true
        writer.close()
        if exit.wait(timeout: .milliseconds(100)) == nil {
            signalProcessGroup(SIGTERM)
            if exit.wait(timeout: .milliseconds(500)) == nil { signalProcessGroup(SIGKILL) }
        }
        if output >= 0 { close(output) }
    }
}

func milliseconds(_ duration: Duration) -> Double {
    let (seconds, attoseconds) = duration.components
    return Double(seconds) * 1000 + Double(attoseconds) / 1e15
}

func seconds(_ duration: Duration) -> String {
    String(format: "%g s", milliseconds(duration) / 1000)
}

// MARK: - Helpers, each shared with one thread

/// How the process ended, recorded by `Process`'s termination handler.
private final class ExitStatus: Sendable {
    enum Outcome: Sendable { case exited(Int32), signaled(Int32) }
    private let state = Mutex<Outcome?>(nil)
    private let ended = DispatchSemaphore(value: 0)

    func record(_ process: Process) {
        let outcome: Outcome = process.terminationReason == .uncaughtSignal
            ? .signaled(process.terminationStatus) : .exited(process.terminationStatus)
        state.withLock { $0 = outcome }
        ended.signal()
    }

    var outcome: Outcome? { state.withLock { $0 } }

    /// The outcome, waiting up to `timeout` for it.
    func wait(timeout: Duration) -> Outcome? {
        if let outcome { return outcome }
        if ended.wait(timeout: .now() + .milliseconds(Int(milliseconds(timeout)))) == .success { ended.signal() }
        return outcome
    }
}

/// Writes batches to the process's standard input from its own thread, which owns the descriptor.
/// A write to a process that has gone away fails with EPIPE instead of raising SIGPIPE: the thread
/// blocks SIGPIPE and discards the pending signal (Linux); on Darwin the descriptor is marked
/// `F_SETNOSIGPIPE`.
private final class StandardInputWriter: Sendable {
    private struct State: Sendable {
        var queue: [[UInt8]] = []
        var closing = false
        var failure: String?
    }
    private let state = Mutex(State())
    private let wakeUp = DispatchSemaphore(value: 0)

    init(descriptor: Int32) {
        guard descriptor >= 0 else { return }
        let thread = Thread { [self] in run(descriptor) }
        thread.name = "CommandReward standard input"
        thread.start()
    }

    func send(_ bytes: [UInt8]) {
        state.withLock { $0.queue.append(bytes) }
        wakeUp.signal()
    }

    /// Closes standard input once what was sent has been written (or has failed).
    func close() {
        let first = state.withLock { state -> Bool in
            defer { state.closing = true }
            return !state.closing
        }
        if first { wakeUp.signal() }
    }

    private enum Job { case write([UInt8]), close, none }

    private func run(_ descriptor: Int32) {
        var pipeSignal = sigset_t()
        sigemptyset(&pipeSignal)
        sigaddset(&pipeSignal, SIGPIPE)
        pthread_sigmask(SIG_BLOCK, &pipeSignal, nil)
        #if canImport(Darwin)
        _ = fcntl(descriptor, F_SETNOSIGPIPE, 1)
        #endif
        while true {
            wakeUp.wait()
            let job = state.withLock { state -> Job in
                if !state.queue.isEmpty { return .write(state.queue.removeFirst()) }
                return state.closing ? .close : .none
            }
            switch job {
            case .none: continue
            case .close:
                closeDescriptor(descriptor)
                return
            case let .write(bytes):
                if state.withLock({ $0.failure != nil }) { continue }
                if let failure = writeAll(bytes, to: descriptor, pipeSignal: &pipeSignal) {
                    state.withLock { $0.failure = failure }
                }
            }
        }
    }

    private func writeAll(_ bytes: [UInt8], to descriptor: Int32, pipeSignal: inout sigset_t) -> String? {
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress! + offset, $0.count - offset) }
            if written > 0 {
                offset += written
            } else if written < 0 && errno == EINTR {
                continue
            } else {
                let reason = String(cString: strerror(errno))
                #if os(Linux)
                var now = timespec(tv_sec: 0, tv_nsec: 0)
                while sigtimedwait(&pipeSignal, nil, &now) > 0 {}
                #endif
                return reason
            }
        }
        return nil
    }
}

/// Drains the process's standard error on its own thread, keeping the last 8 KiB.
private final class StandardErrorTail: Sendable {
    static let capacity = 8192
    private let bytes = Mutex<[UInt8]>([])
    private let ended = DispatchSemaphore(value: 0)
    private let finished = Mutex(false)

    init(descriptor: Int32) {
        guard descriptor >= 0 else { return }
        let thread = Thread { [self] in run(descriptor) }
        thread.name = "CommandReward standard error"
        thread.start()
    }

    private func run(_ descriptor: Int32) {
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count > 0 {
                bytes.withLock {
                    $0 += buffer[..<count]
                    if $0.count > Self.capacity { $0.removeFirst($0.count - Self.capacity) }
                }
            } else if count < 0 && errno == EINTR {
                continue
            } else {
                break
            }
        }
        closeDescriptor(descriptor)
        finished.withLock { $0 = true }
        ended.signal()
    }

    /// Waits up to `timeout` for the process's standard error to reach its end.
    func waitForEnd(timeout: Duration) -> Bool {
        if finished.withLock({ $0 }) { return true }
        if ended.wait(timeout: .now() + .milliseconds(Int(milliseconds(timeout)))) == .success {
            ended.signal()
            return true
        }
        return false
    }

    /// The last lines written (at most `maximumLines`, each cut to 300 characters).
    func tail(maximumLines: Int = 12) -> [String] {
        let text = String(decoding: bytes.withLock { $0 }, as: UTF8.self)
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map {
            $0.hasSuffix("\r") ? String($0.dropLast()) : String($0)
        }
        while let last = lines.last, last.trimmingCharacters(in: .whitespaces).isEmpty { lines.removeLast() }
        return lines.suffix(maximumLines).map { $0.count > 300 ? String($0.prefix(300)) + "…" : $0 }
    }
}

/// `close(2)`, named apart from the methods called `close()` above.
private func closeDescriptor(_ descriptor: Int32) {
    _ = close(descriptor)
}
