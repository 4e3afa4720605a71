import Foundation

/// What the machine is, for benchmark headers and reports: the CPU model, its vector features and
/// cache sizes as the OS reports them (Linux `/proc/cpuinfo` and sysfs; empty fields elsewhere).
public struct CPUInfo: Sendable, Codable, Equatable {
    /// e.g. "AMD EPYC 7B13" (`model name`).
    public var model: String
    /// Vendor family / model numbers (e.g. 25 / 1 is Zen 3, 25 / 17 Zen 4), as "family F model M".
    public var familyAndModel: String
    /// Logical CPUs online.
    public var logicalProcessorCount: Int
    /// The vector extensions present, of those the kernels care about (avx2, fma, avx512f, …).
    public var vectorFeatures: [String]
    /// Per-core L1 data and L2, and the shared L3, in bytes (0 when unknown).
    public var l1DataBytes: Int, l2Bytes: Int, l3Bytes: Int

    /// This machine.
    public static let current = CPUInfo.read()

    static func read() -> CPUInfo {
        var info = CPUInfo(model: "", familyAndModel: "", logicalProcessorCount: ProcessInfo.processInfo.activeProcessorCount,
                           vectorFeatures: [], l1DataBytes: 0, l2Bytes: 0, l3Bytes: 0)
        if let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) {
            var fields = [String: String]()
            for line in text.split(separator: "\n") {
                if line.isEmpty { break }  // the first processor is enough
                let parts = line.split(separator: ":", maxSplits: 1)
                guard parts.count == 2 else { continue }
                fields[parts[0].trimmingCharacters(in: .whitespaces)] = parts[1].trimmingCharacters(in: .whitespaces)
            }
            info.model = fields["model name"] ?? ""
            if let family = fields["cpu family"], let model = fields["model"] { info.familyAndModel = "family \(family) model \(model)" }
            let flags = Set((fields["flags"] ?? fields["Features"] ?? "").split(separator: " ").map(String.init))
            let wanted = ["sse4_2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512dq", "avx512bw", "avx512vl", "avx512_vnni",
                          "avx512_bf16", "amx_tile", "neon", "asimd", "sve"]
            info.vectorFeatures = wanted.filter(flags.contains)
        }
        for index in 0..<8 {
            let base = "/sys/devices/system/cpu/cpu0/cache/index\(index)/"
            guard let level = try? String(contentsOfFile: base + "level", encoding: .utf8),
                  let type = try? String(contentsOfFile: base + "type", encoding: .utf8),
                  let size = try? String(contentsOfFile: base + "size", encoding: .utf8) else { continue }
            let bytes = parseCacheSize(size)
            switch (level.trimmingCharacters(in: .whitespacesAndNewlines), type.trimmingCharacters(in: .whitespacesAndNewlines)) {
            case ("1", "Data"): info.l1DataBytes = bytes
            case ("2", _): info.l2Bytes = bytes
            case ("3", _): info.l3Bytes = bytes
            default: break
            }
        }
        return info
    }

    /// "32K", "1024K", "32768K", "1M" → bytes.
    public static func parseCacheSize(_ text: String) -> Int {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        let unit = trimmed.last.map { "KMG".contains($0) ? $0 : " " } ?? " "
        let number = Int(unit == " " ? trimmed : String(trimmed.dropLast())) ?? 0
        switch unit {
        case "K": return number << 10
        case "M": return number << 20
        case "G": return number << 30
        default: return number
        }
    }

    /// One line: "AMD EPYC (family 25 model 17), 2 CPUs, avx2 fma avx512f …, L1d 32 KiB, L2 1 MiB, L3 32 MiB".
    public var summary: String {
        func size(_ bytes: Int) -> String { bytes >= 1 << 20 ? "\(bytes >> 20) MiB" : "\(bytes >> 10) KiB" }
        var parts = [(model.isEmpty ? "unknown CPU" : model) + (familyAndModel.isEmpty ? "" : " (\(familyAndModel))"),
                     "\(logicalProcessorCount) CPUs", vectorFeatures.isEmpty ? "no vector extensions listed" : vectorFeatures.joined(separator: " ")]
        if l1DataBytes > 0 { parts.append("L1d \(size(l1DataBytes))") }
        if l2Bytes > 0 { parts.append("L2 \(size(l2Bytes))") }
        if l3Bytes > 0 { parts.append("L3 \(size(l3Bytes))") }
        return parts.joined(separator: ", ")
    }
}
