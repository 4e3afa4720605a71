import Foundation
import RLHFAlignment
import Testing

@Suite("Stable σ, log σ and softplus")
struct StableMathTests {
    @Test func matchesTheNaiveFormulasWhereTheyAreAccurate() {
        for x in stride(from: -20.0, through: 20.0, by: 0.37) {
            #expect(isClose(StableMath.sigmoid(x), 1 / (1 + exp(-x))))
            #expect(isClose(StableMath.softplus(x), log(1 + exp(x)), tolerance: 1e-10))
            #expect(isClose(StableMath.logSigmoid(x), log(1 / (1 + exp(-x))), tolerance: 1e-10))
        }
        #expect(StableMath.sigmoid(0) == 0.5)
        #expect(StableMath.softplus(0) == log(2.0))
    }

    @Test func staysFiniteAtExtremeArguments() {
        #expect(StableMath.softplus(800) == 800)
        #expect(StableMath.softplus(-800) == 0)
        #expect(StableMath.logSigmoid(-800) == -800)
        #expect(StableMath.logSigmoid(800) == 0)
        #expect(StableMath.sigmoid(-800) >= 0 && StableMath.sigmoid(800) == 1)
        #expect(isClose(StableMath.logSigmoid(-40), -40 - exp(-40.0)))
    }

    @Test func identities() {
        for x in uniformValues(50, seed: 3, in: -30...30) {
            #expect(isClose(StableMath.sigmoid(x) + StableMath.sigmoid(-x), 1))
            #expect(isClose(StableMath.softplus(x) - StableMath.softplus(-x), x, tolerance: 1e-12))
            #expect(StableMath.logSigmoid(x) == -StableMath.softplus(-x))
        }
    }

    @Test func derivativesMatchFiniteDifferences() {
        for x in [-8.0, -1.3, 0, 0.4, 5.5] {
            let dSoftplus = DoubleFiniteDifference.derivative(at: x, of: StableMath.softplus)
            let dLogSigmoid = DoubleFiniteDifference.derivative(at: x, of: StableMath.logSigmoid)
            #expect(abs(dSoftplus - StableMath.sigmoid(x)) < 1e-8)
            #expect(abs(dLogSigmoid - StableMath.sigmoid(-x)) < 1e-8)
        }
    }
}
