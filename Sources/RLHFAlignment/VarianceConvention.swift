/// Which variance an uncertainty penalty uses: divide by k or by k − 1.
///
/// Coste et al.'s best-of-n code uses `np.var` (÷k, their Eq. 5); their PPO code uses
/// `torch.var`, which is Bessel-corrected (÷(k − 1)), so its λ acts k/(k − 1) times larger
/// (1.25 for k = 5). alignment-losses.md §2 and §11 item 10: population by default.
///
/// ```swift
/// EnsembleCombiner.variance([0, 1, 2, 3, 4], convention: .population)   // 2.0
/// EnsembleCombiner.variance([0, 1, 2, 3, 4], convention: .sample)       // 2.5
/// ```
public enum VarianceConvention: String, Sendable, Codable, CaseIterable, Equatable {
    /// (1/k) Σ (x_i − x̄)², ddof = 0 (`np.var`, Coste et al. Eq. 5). The default.
    case population
    /// (1/(k − 1)) Σ (x_i − x̄)², ddof = 1 (`torch.var`, Coste et al.'s PPO code).
    case sample
}
