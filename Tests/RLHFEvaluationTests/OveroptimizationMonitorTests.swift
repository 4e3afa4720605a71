import RLHFAlignment
import RLHFEvaluation
import Testing

@Suite("Overoptimization monitor")
struct OveroptimizationMonitorTests {
    @Test("rising disagreement with a rising proxy raises the alarm; flat disagreement does not")
    func disagreement() {
        var monitor = OveroptimizationMonitor(window: 4, growth: 1.5)
        var alarms = [Double]()
        for step in 1...8 {
            let observation = monitor.observe(step: step, proxy: Double(step) * 0.1, disagreement: 0.1 * (1 + 0.2 * Double(step)))
            alarms.append(observation.diagnostics.value(named: "overoptimization/disagreement_alarm")!)
            if alarms.last == 1 { #expect(observation.warnings.count == 1) }
        }
        #expect(alarms.prefix(3).allSatisfy { $0 == 0 })  // not before a full window
        #expect(alarms.last == 1)
        var calm = OveroptimizationMonitor(window: 4)
        for step in 1...8 {
            let observation = calm.observe(step: step, proxy: Double(step) * 0.1, disagreement: 0.1)
            #expect(observation.diagnostics.value(named: "overoptimization/disagreement_alarm") == 0 && observation.warnings.isEmpty)
        }
    }

    @Test("gold falling while the proxy rises is overoptimization; the gold peak is tracked")
    func gold() {
        var monitor = OveroptimizationMonitor(window: 3)
        let golds = [0.1, 0.4, 0.6, 0.5, 0.3, 0.1]
        var peaks = [Bool](), alarms = [Double]()
        for (index, value) in golds.enumerated() {
            let observation = monitor.observe(step: index + 1, proxy: Double(index), gold: value)
            peaks.append(observation.isGoldPeak)
            alarms.append(observation.diagnostics.value(named: "overoptimization/gold_alarm")!)
        }
        #expect(peaks == [true, true, true, false, false, false])
        #expect(monitor.goldPeak?.step == 3 && monitor.goldPeak?.gold == 0.6)
        #expect(alarms == [0, 0, 0, 0, 1, 1])
    }
}
