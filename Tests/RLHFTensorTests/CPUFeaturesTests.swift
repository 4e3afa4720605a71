import Foundation
import RLHFTensor
import Testing

/// The one run-time switch of the C kernels (``CPUFeatures``) and the small-batch GEMM's own.
@Suite("CPU features")
struct CPUFeaturesTests {
    @Test("avx2FMA is the CPU's answer unless RLHF_SIMD_KERNELS=off; the GEMM also obeys RLHF_SMALL_GEMM=off")
    func switches() {
        #expect(CPUFeatures.avx2FMA == (CPUFeatures.hardwareAVX2FMA && !CPUFeatures.isSwitchedOff("RLHF_SIMD_KERNELS")))
        #expect(SmallBatchGEMM.isAvailable == (CPUFeatures.avx2FMA && !CPUFeatures.isSwitchedOff("RLHF_SMALL_GEMM")))
        #expect(QuantizedMatrix.isAvailable == (CPUFeatures.avx2FMA && !CPUFeatures.isSwitchedOff("RLHF_QUANTIZED_GEMM")))
        #expect(QuantizedMatrix.fasterRows == (CPUFeatures.avx512 ? 8 : 4))
        #expect(CPUFeatures.avx512 == (CPUFeatures.avx2FMA && CPUFeatures.hardwareAVX512 && !CPUFeatures.isSwitchedOff("RLHF_AVX512")))
        #expect(CPUFeatures.kernelLevel == (CPUFeatures.avx512 ? "avx512" : CPUFeatures.avx2FMA ? "avx2" : "portable"))
        #if !(arch(x86_64) || arch(i386))
        #expect(!CPUFeatures.hardwareAVX2FMA && !CPUFeatures.hardwareAVX512)
        #endif
    }

    @Test("CPU info: cache sizes parse, the summary names the model and the vector features")
    func cpuInfo() {
        #expect(CPUInfo.parseCacheSize("32K\n") == 32 << 10 && CPUInfo.parseCacheSize("1M") == 1 << 20 && CPUInfo.parseCacheSize("512") == 512)
        let info = CPUInfo.current
        #expect(info.logicalProcessorCount >= 1)
        #expect(info.summary.contains("\(info.logicalProcessorCount) CPUs"))
        #if os(Linux) && arch(x86_64)
        #expect(info.vectorFeatures.contains("avx512f") || !CPUFeatures.hardwareAVX512)
        #expect(!info.model.isEmpty)
        #endif
    }

    @Test("a switch is off only for the value off, in any case")
    func switchValues() {
        let name = "RLHF_CPU_FEATURES_TEST_SWITCH"
        unsetenv(name)
        #expect(!CPUFeatures.isSwitchedOff(name))
        for (value, off) in [("off", true), ("OFF", true), ("Off", true), ("on", false), ("0", false), ("", false)] {
            setenv(name, value, 1)
            #expect(CPUFeatures.isSwitchedOff(name) == off, "\(value)")
        }
        unsetenv(name)
    }

    #if os(Linux) && arch(x86_64)
    @Test("on Linux the check agrees with /proc/cpuinfo")
    func agreesWithProcCPUInfo() throws {
        let info = try String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)
        guard let flags = info.split(separator: "\n").first(where: { $0.hasPrefix("flags") }) else { return }
        let set = Set(flags.split(separator: " ").map(String.init))
        #expect(CPUFeatures.hardwareAVX2FMA == (set.contains("avx2") && set.contains("fma")))
        #expect(CPUFeatures.hardwareAVX512 == (CPUFeatures.hardwareAVX2FMA && ["avx512f", "avx512bw", "avx512vl", "avx512dq"].allSatisfy(set.contains)))
    }
    #endif
}
