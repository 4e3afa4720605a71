import Foundation
import RLHF

/// What `rlhf bench` measured, for `--json`: the machine, then one record per figure, each with its
/// fraction of the roof it is bound by (the GEMM roof for compute, the memory roof for decoding).
struct BenchReport: Codable {
    struct Machine: Codable {
        var cpu: CPUInfo
        var kernels: String
        var threads: Int
        var blas: String
        /// Best sgemm GFLOP/s at training shapes and read bandwidth in GB/s, measured in this run.
        var gemmRoofGigaflops: Double?
        var memoryRoofGigabytesPerSecond: Double?
    }

    struct Record: Codable {
        var section: String
        var work: String
        var seconds: Double
        var tokensPerSecond: Double?
        var gigaflops: Double?
        var gigabytesPerSecond: Double?
        /// gigaflops / GEMM roof, or gigabytesPerSecond / memory roof.
        var roofFraction: Double?
        var extra: [String: Double]?
    }

    var machine: Machine
    var records: [Record] = []
}

extension BenchCommand {
    /// The report of this run (the command runs once per process).
    nonisolated(unsafe) static var report = BenchReport(machine: .init(
        cpu: .current, kernels: CPUFeatures.kernelLevel, threads: Parallel.threadCount,
        blas: BLASMatrixMultiplier.shared.map { "\($0.name) (\($0.libraryPath))" } ?? "none (portable GEMM)"))

    /// Adds a figure to the report; the roof fraction is filled in from the roofs measured so far.
    func record(_ section: String, _ work: String, seconds: Double, tokensPerSecond: Double? = nil, gigaflops: Double? = nil,
                gigabytesPerSecond: Double? = nil, extra: [String: Double]? = nil) {
        let machine = Self.report.machine
        var fraction: Double?
        if let gigaflops, let roof = machine.gemmRoofGigaflops { fraction = gigaflops / roof }
        if let gigabytesPerSecond, let roof = machine.memoryRoofGigabytesPerSecond { fraction = gigabytesPerSecond / roof }
        Self.report.records.append(.init(section: section, work: work, seconds: seconds, tokensPerSecond: tokensPerSecond,
                                         gigaflops: gigaflops, gigabytesPerSecond: gigabytesPerSecond, roofFraction: fraction,
                                         extra: extra))
    }

    /// " (62% of roof)" for a printed line, or "".
    func roofNote(gigaflops: Double? = nil, gigabytesPerSecond: Double? = nil) -> String {
        let machine = Self.report.machine
        if let gigaflops, let roof = machine.gemmRoofGigaflops { return String(format: " (%.0f%% of roof)", 100 * gigaflops / roof) }
        if let gigabytesPerSecond, let roof = machine.memoryRoofGigabytesPerSecond {
            return String(format: " (%.0f%% of roof)", 100 * gigabytesPerSecond / roof)
        }
        return ""
    }

    /// The header every run prints: CPU, kernels, threads, BLAS, and the two roofs.
    func printHeader() {
        let machine = Self.report.machine
        print("CPU: \(machine.cpu.summary)")
        print("kernels: \(machine.kernels)   threads: \(machine.threads)   BLAS: \(machine.blas)")
        Self.report.machine.memoryRoofGigabytesPerSecond = Self.readBandwidth()
        if let blas = BLASMatrixMultiplier.shared {
            // The roof for compute: sgemm at the training forward's largest shape.
            let rows = batchSize * sequenceLength
            Self.report.machine.gemmRoofGigaflops = GEMMBenchmark.gigaflops(
                of: blas, m: rows, n: 3072, k: 576, transposeA: false, transposeB: true, minimumSeconds: 0.5)
        }
        let m = Self.report.machine
        print("roofs: sgemm \(m.gemmRoofGigaflops.map { String(format: "%.1f GFLOP/s", $0) } ?? "—") (BLAS at \(batchSize * sequenceLength)×3072×576), "
              + "memory read \(String(format: "%.1f GB/s", m.memoryRoofGigabytesPerSecond ?? 0)) (512 MiB, every thread)")
        print("")
    }

    /// Read bandwidth over a 512 MiB buffer with every thread, best of 3 passes (in GB/s).
    static func readBandwidth() -> Double {
        let count = 128 << 20
        let buffer = FloatBuffer(count: count)
        buffer.pointer.update(repeating: 1, count: count)
        nonisolated(unsafe) let base = UnsafePointer(buffer.pointer)
        var best = 0.0
        for _ in 0..<3 {
            let start = ContinuousClock.now
            Parallel.forEachChunk(count: count, minimumChunk: 1 << 20) { range in
                let sum = VectorMath.dot(base + range.lowerBound, base + range.lowerBound, count: range.count)
                if sum < 0 { print("") }  // keep the result alive
            }
            best = max(best, Double(count * 4) / (ContinuousClock.now - start).seconds / 1e9)
        }
        return best
    }

    /// The process's peak resident memory so far, in bytes (`getrusage`; Linux reports KiB).
    static func peakResidentBytes() -> Int {
        var usage = rusage()
        #if os(Linux)
        getrusage(RUSAGE_SELF.rawValue, &usage)
        #else
        getrusage(RUSAGE_SELF, &usage)
        #endif
        #if os(Linux)
        return Int(usage.ru_maxrss) * 1024
        #else
        return Int(usage.ru_maxrss)
        #endif
    }

    /// Prints and records the peak resident memory after `work` (peaks only grow: run one
    /// configuration per process to attribute it).
    func reportPeakMemory(after work: String) {
        let bytes = Self.peakResidentBytes()
        print("    peak resident memory so far: \(String(format: "%.2f", Double(bytes) / Double(1 << 30))) GiB")
        record("memory", "peak RSS after \(work)", seconds: 0, extra: ["bytes": Double(bytes)])
    }

    /// Writes the report as JSON (sorted keys, snake_case).
    func writeReport(to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        try AtomicFile.write(try encoder.encode(Self.report), to: path)
    }
}
