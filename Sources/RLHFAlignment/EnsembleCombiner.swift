/// How the scores of k reward-model members become one reward (Coste et al. 2023, Eq. 3–5;
/// alignment-losses.md §2). Members are combined on their raw outputs, with no per-member
/// normalisation, as in the authors' code.
///
///     mean:                 R_μ   = (1/k) Σ_i R_i
///     worstCase (WCO):      R_WCO = min_i R_i
///     uncertaintyWeighted:  R_UWO = R_μ − λ · Var(R_1..R_k)      (population or sample variance)
///
/// Coste et al. use λ = 0.5 for best-of-n and λ = 0.1 in their PPO configuration.
///
/// ```swift
/// let combiner = EnsembleCombiner(name: "uwo", lambda: 0.5)!
/// combiner.combine([1, 2, 3])                        // 2 − 0.5 · 2/3
/// combiner.combine(members: [[1, 0], [3, 0]])        // per input: [2 − 0.5 · 1, 0]
/// ```
public enum EnsembleCombiner: Sendable, Codable, Equatable {
    /// The members' mean.
    case mean
    /// The members' minimum (worst-case optimisation, WCO).
    case worstCase
    /// The mean minus λ times the members' variance (uncertainty-weighted optimisation, UWO).
    case uncertaintyWeighted(lambda: Double, variance: VarianceConvention = .population)

    /// Parses a command-line name: `mean`; `wco` or `worst-case`; `uwo` or
    /// `uncertainty-weighted` (case-insensitive). `lambda` and `variance` are used by UWO only.
    ///
    /// Returns nil for any other name, and for UWO with a negative or non-finite λ.
    public init?(name: String, lambda: Double, variance: VarianceConvention = .population) {
        switch name.lowercased() {
        case "mean":
            self = .mean
        case "wco", "worst-case":
            self = .worstCase
        case "uwo", "uncertainty-weighted":
            guard lambda.isFinite, lambda >= 0 else { return nil }
            self = .uncertaintyWeighted(lambda: lambda, variance: variance)
        default:
            return nil
        }
    }

    /// The short name: `mean`, `wco` or `uwo` (the inverse of `init?(name:lambda:)`).
    public var name: String {
        switch self {
        case .mean: "mean"
        case .worstCase: "wco"
        case .uncertaintyWeighted: "uwo"
        }
    }

    /// The combined reward of one input from its k member scores.
    ///
    /// - Precondition: at least one score (two for UWO with the sample variance).
    public func combine(_ memberScores: [Double]) -> Double {
        precondition(!memberScores.isEmpty, "EnsembleCombiner.combine: no member scores")
        switch self {
        case .mean:
            return Self.mean(memberScores)
        case .worstCase:
            return memberScores.reduce(.infinity) { Swift.min($0, $1) }
        case .uncertaintyWeighted(let lambda, let convention):
            return Self.mean(memberScores) - lambda * Self.variance(memberScores, convention: convention)
        }
    }

    /// Per-input combined rewards from `members[i][j]`, the score of member i on input j.
    ///
    /// - Precondition: at least one member; every member scores the same number of inputs.
    public func combine(members: [[Double]]) -> [Double] {
        precondition(!members.isEmpty, "EnsembleCombiner.combine: no members")
        let inputCount = members[0].count
        for (i, member) in members.enumerated() {
            precondition(member.count == inputCount, "EnsembleCombiner.combine: member \(i) scores \(member.count) inputs, member 0 scores \(inputCount)")
        }
        var column = [Double](repeating: 0, count: members.count)
        return (0..<inputCount).map { j in
            for i in members.indices { column[i] = members[i][j] }
            return combine(column)
        }
    }

    /// Σ x_i / k.
    static func mean(_ scores: [Double]) -> Double {
        scores.reduce(0, +) / Double(scores.count)
    }

    /// Σ (x_i − x̄)² / k (`.population`) or / (k − 1) (`.sample`), two-pass for accuracy.
    ///
    /// - Precondition: at least one score; at least two for `.sample`.
    public static func variance(_ scores: [Double], convention: VarianceConvention) -> Double {
        precondition(!scores.isEmpty, "EnsembleCombiner.variance: no scores")
        let k = scores.count
        let centre = mean(scores)
        var sumOfSquares = 0.0
        for x in scores { sumOfSquares += (x - centre) * (x - centre) }
        switch convention {
        case .population:
            return sumOfSquares / Double(k)
        case .sample:
            precondition(k >= 2, "EnsembleCombiner.variance: the sample (Bessel) variance needs at least two scores")
            return sumOfSquares / Double(k - 1)
        }
    }
}
