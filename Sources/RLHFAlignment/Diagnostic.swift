/// One named scalar a loss reports next to its value (accuracy, margin, clip fraction, KL…).
///
/// Losses return an ordered `[Diagnostic]` so that logs and JSONL metrics keep a stable column
/// order; names follow the reference implementation the loss mirrors (TRL's where it has one).
///
/// ```swift
/// let result = BradleyTerry.loss(chosen: [1, 2], rejected: [0, 3])
/// result.diagnostics.value(named: "accuracy")   // 0.5
/// ```
public struct Diagnostic: Sendable, Codable, Equatable {
    /// The metric's name, e.g. `"accuracy"`.
    public var name: String
    /// The metric's value.
    public var value: Double

    /// A diagnostic called `name` with `value`.
    public init(name: String, value: Double) {
        self.name = name
        self.value = value
    }
}

extension Array where Element == Diagnostic {
    /// The value of the first diagnostic called `name`, or nil when there is none.
    public func value(named name: String) -> Double? {
        first { $0.name == name }?.value
    }
}
