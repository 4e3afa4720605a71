import Foundation

/// Overflow-free σ, log σ and softplus in Double, the building blocks of every pairwise loss.
///
/// The naive forms overflow or lose every digit at large |x|: `log(1 + exp(800))` is `inf` and
/// `log(1 / (1 + exp(40)))` rounds to `−inf`'s neighbour `log(0)`. Each function here branches on
/// the sign of x so that `exp` only ever sees a non-positive argument.
///
/// ```swift
/// StableMath.softplus(800)      // 800
/// StableMath.logSigmoid(-800)   // −800
/// StableMath.sigmoid(0)         // 0.5
/// ```
public enum StableMath {
    /// σ(x) = 1 / (1 + e^{−x}), in (0, 1) for finite x (exactly 0 or 1 only past ±745).
    ///
    /// For x ≥ 0 it evaluates 1 / (1 + e^{−x}); for x < 0 it evaluates e^{x} / (1 + e^{x}).
    @inlinable
    public static func sigmoid(_ x: Double) -> Double {
        if x >= 0 {
            return 1 / (1 + exp(-x))
        }
        let e = exp(x)
        return e / (1 + e)
    }

    /// softplus(x) = log(1 + e^{x}) = max(x, 0) + log1p(e^{−|x|}).
    ///
    /// Its derivative is σ(x); softplus(x) − softplus(−x) = x.
    @inlinable
    public static func softplus(_ x: Double) -> Double {
        max(x, 0) + log1p(exp(-abs(x)))
    }

    /// log σ(x) = −softplus(−x) = min(x, 0) − log1p(e^{−|x|}).
    ///
    /// Its derivative is σ(−x) = 1 − σ(x).
    @inlinable
    public static func logSigmoid(_ x: Double) -> Double {
        -softplus(-x)
    }
}
