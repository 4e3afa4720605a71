import Foundation
import RLHFAlignment
import Testing

@Suite("Calibration and summary statistics")
struct CalibrationTests {
    @Test func perfectlyCalibratedPredictionsHaveZeroECE() {
        // p = 0.25 on four pairs, one of which wins; p = 0.75 on four, three of which win.
        let probabilities = [0.25, 0.25, 0.25, 0.25, 0.75, 0.75, 0.75, 0.75]
        let outcomes = [true, false, false, false, true, true, false, true]
        #expect(Calibration.expectedCalibrationError(probabilities: probabilities, outcomes: outcomes) == 0)
        #expect(Calibration.expectedCalibrationError(probabilities: [0.5, 0.5], outcomes: [true, false], bins: 1) == 0)
    }

    @Test func eceWeightsEachBinByItsCount() {
        // Bin 9: mean p 0.9 vs frequency 0.5 → 0.4 · 2/4; bin 1: 0.1 vs 0 → 0.1 · 2/4. Total 0.25.
        let ece = Calibration.expectedCalibrationError(probabilities: [0.9, 0.9, 0.1, 0.1], outcomes: [true, false, false, false])
        #expect(isClose(ece, 0.25))
        // Edges: p = 1 falls in the last bin, p = 0 in the first.
        #expect(Calibration.expectedCalibrationError(probabilities: [1, 0], outcomes: [true, false]) == 0)
        #expect(Calibration.expectedCalibrationError(probabilities: [1, 0], outcomes: [false, true]) == 1)
        // One bin: |mean p − mean outcome|.
        let single = Calibration.expectedCalibrationError(probabilities: [0.2, 0.6, 0.7], outcomes: [true, true, true], bins: 1)
        #expect(isClose(single, 1 - 0.5))
        // Bins split the same data differently: with 2 bins, [0.2] and [0.6, 0.7].
        let two = Calibration.expectedCalibrationError(probabilities: [0.2, 0.6, 0.7], outcomes: [true, true, true], bins: 2)
        #expect(isClose(two, (1.0 / 3) * 0.8 + (2.0 / 3) * 0.35))
    }

    @Test func brierScores() {
        #expect(Calibration.brierScore(probabilities: [0.5, 0.5, 0.5], outcomes: [true, false, true]) == 0.25)
        #expect(Calibration.brierScore(probabilities: [1, 0], outcomes: [true, false]) == 0)
        #expect(isClose(Calibration.brierScore(probabilities: [0.8, 0.3], outcomes: [false, false]), (0.64 + 0.09) / 2))
    }

    @Test func meanAndPopulationStandardDeviation() {
        let summary = Statistics.meanAndStandardDeviation([2, 4, 4, 4, 5, 5, 7, 9])
        #expect(summary.mean == 5 && summary.standardDeviation == 2)
        let small = Statistics.meanAndStandardDeviation([1, 2, 3, 4])
        #expect(small.mean == 2.5 && isClose(small.standardDeviation, 1.25.squareRoot()))
        #expect(Statistics.meanAndStandardDeviation([3]).standardDeviation == 0)
    }

    @Test func pearsonCorrelation() {
        let x = uniformValues(25, seed: 21)
        #expect(isClose(Statistics.pearsonCorrelation(x, x.map { 3 * $0 - 1 })!, 1))
        #expect(isClose(Statistics.pearsonCorrelation(x, x.map { -0.5 * $0 + 4 })!, -1))
        #expect(isClose(Statistics.pearsonCorrelation([1, 2, 3], [1, 3, 2])!, 0.5))
        #expect(Statistics.pearsonCorrelation([1, 2, 3], [4, 4, 4]) == nil)
        #expect(Statistics.pearsonCorrelation([0.1, 0.1, 0.1], [1, 2, 3]) == nil)
        #expect(Statistics.pearsonCorrelation([7], [2]) == nil)
    }
}
