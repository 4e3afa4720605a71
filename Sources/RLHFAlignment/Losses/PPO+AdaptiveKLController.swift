/// The adaptive KL coefficient of Ziegler et al. 2019, as in trlx and early TRL
/// (alignment-losses.md §3.5):
///
///     e      = clip( KL_current / KL_target − 1 , −0.2 , 0.2 )
///     β_next = β · (1 + e · n_steps / horizon)
///
/// KL_current is the batch mean sequence KL (nats per sequence) and n_steps the number of samples
/// in the update (§10b). Requiring horizon ≥ n_steps keeps the factor ≥ 0.8, so β stays positive;
/// other settings are rejected with a `KLControllerError`. With no target the controller is fixed
/// and `update` leaves β unchanged.
///
/// ```swift
/// var controller = try PPO.AdaptiveKLController(initialBeta: 0.05, target: 6, horizon: 10_000)
/// try controller.update(currentKL: 9.0, samples: 64)   // KL above target: β grows
/// controller.beta                                      // 0.05 · (1 + 0.2 · 64/10 000)
/// ```
extension PPO {
    /// An invalid KL-controller setting, with a message naming the offending values.
    public enum KLControllerError: Error, CustomStringConvertible, Equatable, Sendable {
        /// β must be finite and ≥ 0.
        case invalidBeta(Double)
        /// The KL target must be finite and > 0.
        case invalidTarget(Double)
        /// The horizon must be finite and > 0.
        case invalidHorizon(Double)
        /// An update must count at least 0 samples.
        case negativeSamples(Int)
        /// An update with more samples than the horizon could drive β negative (§10b).
        case horizonBelowSamples(horizon: Double, samples: Int)
        /// The measured KL must be finite.
        case invalidKL(Double)

        public var description: String {
            switch self {
            case .invalidBeta(let beta):
                "KL controller: initial β = \(beta) must be finite and ≥ 0"
            case .invalidTarget(let target):
                "KL controller: target KL = \(target) must be finite and > 0 (nil for a fixed β)"
            case .invalidHorizon(let horizon):
                "KL controller: horizon \(horizon) must be finite and > 0"
            case .negativeSamples(let samples):
                "KL controller: update with \(samples) samples; the count must be ≥ 0"
            case .horizonBelowSamples(let horizon, let samples):
                "KL controller: horizon \(horizon) < \(samples) samples per update; the horizon must be at least the samples per update so that β stays positive"
            case .invalidKL(let kl):
                "KL controller: current KL \(kl) is not finite"
            }
        }
    }

    /// The KL coefficient β of the reward shaping, fixed or adapted toward a target KL.
    public struct AdaptiveKLController: Sendable, Codable, Equatable {
        /// The current coefficient β.
        public var beta: Double
        /// KL_target in nats per sequence; nil for a fixed β.
        public let target: Double?
        /// The horizon, in samples (trlx HH: 10 000).
        public let horizon: Double

        /// A controller starting at `initialBeta`.
        ///
        /// - Parameters:
        ///   - initialBeta: β before any update (trlx HH 0.05, Coste 0.1, OpenRLHF 0.01).
        ///   - target: KL_target (trlx HH and Coste: 6), or nil for a fixed controller.
        ///   - horizon: the horizon in samples (trlx HH: 10 000); checked only when adaptive.
        /// - Throws: `KLControllerError` for β < 0, a target ≤ 0 or a horizon ≤ 0 (adaptive), or
        ///   any non-finite value.
        public init(initialBeta: Double, target: Double?, horizon: Double) throws(KLControllerError) {
            guard initialBeta.isFinite, initialBeta >= 0 else { throw .invalidBeta(initialBeta) }
            if let target {
                guard target.isFinite, target > 0 else { throw .invalidTarget(target) }
                guard horizon.isFinite, horizon > 0 else { throw .invalidHorizon(horizon) }
            }
            self.beta = initialBeta
            self.target = target
            self.horizon = horizon
        }

        /// A fixed controller: β never changes.
        ///
        /// - Precondition: β finite and ≥ 0.
        public static func fixed(beta: Double) -> AdaptiveKLController {
            precondition(beta.isFinite && beta >= 0, "PPO.AdaptiveKLController.fixed: β = \(beta)")
            return AdaptiveKLController(unchecked: beta, target: nil, horizon: 1)
        }

        private init(unchecked beta: Double, target: Double?, horizon: Double) {
            self.beta = beta
            self.target = target
            self.horizon = horizon
        }

        /// Whether β follows a target (false for a fixed controller).
        public var isAdaptive: Bool { target != nil }

        /// One §3.5 step: β ← β·(1 + clip(KL/KL_target − 1, ±0.2)·samples/horizon). A fixed
        /// controller leaves β unchanged.
        ///
        /// - Parameters:
        ///   - currentKL: the batch mean sequence KL, nats per sequence.
        ///   - samples: n_steps, the samples in this update.
        /// - Throws: `KLControllerError` (adaptive only) when samples < 0, horizon < samples, or
        ///   the KL is not finite; β is then unchanged.
        public mutating func update(currentKL: Double, samples: Int) throws(KLControllerError) {
            guard let target else { return }
            guard samples >= 0 else { throw .negativeSamples(samples) }
            guard horizon >= Double(samples) else { throw .horizonBelowSamples(horizon: horizon, samples: samples) }
            guard currentKL.isFinite else { throw .invalidKL(currentKL) }
            let error = min(max(currentKL / target - 1, -0.2), 0.2)
            beta *= 1 + error * Double(samples) / horizon
        }

        private enum CodingKeys: String, CodingKey { case beta, target, horizon }

        /// Decodes and validates as `init(initialBeta:target:horizon:)` does.
        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            let beta = try container.decode(Double.self, forKey: .beta)
            let target = try container.decodeIfPresent(Double.self, forKey: .target)
            let horizon = try container.decode(Double.self, forKey: .horizon)
            do {
                try self.init(initialBeta: beta, target: target, horizon: horizon)
            } catch {
                throw DecodingError.dataCorrupted(
                    DecodingError.Context(codingPath: decoder.codingPath, debugDescription: error.description))
            }
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(beta, forKey: .beta)
            try container.encodeIfPresent(target, forKey: .target)
            try container.encode(horizon, forKey: .horizon)
        }
    }
}
