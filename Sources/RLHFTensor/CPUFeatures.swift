import CRLHFKernels

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What this CPU can run, read once: the one place the C kernels of `CRLHFKernels` are switched on.
///
/// Every SIMD kernel (the small-batch GEMM, decode attention, SwiGLU) is compiled for AVX2 and FMA
/// only, while the library itself targets baseline x86-64; each kernel's Swift front checks
/// ``avx2FMA`` and otherwise runs its Swift twin. `RLHF_SIMD_KERNELS=off` makes ``avx2FMA`` false
/// (every kernel falls back, e.g. to compare with the Swift code); `RLHF_SMALL_GEMM=off` turns off
/// the small-batch GEMM alone (``SmallBatchGEMM/isAvailable``).
public enum CPUFeatures {
    /// Whether the AVX2/FMA kernels run: the CPU has both (x86-64 only) and `RLHF_SIMD_KERNELS` is
    /// not `off`.
    public static let avx2FMA: Bool = hardwareAVX2FMA && !isSwitchedOff("RLHF_SIMD_KERNELS")

    /// Whether the CPU has AVX2 and FMA, whatever the environment says.
    public static let hardwareAVX2FMA: Bool = rlhf_cpu_has_avx2_fma() != 0

    /// Whether the kernels' AVX-512 variants run: ``avx2FMA``, the CPU has AVX-512 F/BW/VL/DQ and
    /// `RLHF_AVX512` is not `off` (then the AVX2 variants run, e.g. to compare them).
    public static let avx512: Bool = avx2FMA && hardwareAVX512 && !isSwitchedOff("RLHF_AVX512")

    /// Whether the CPU has AVX-512 F, BW, VL and DQ, whatever the environment says.
    public static let hardwareAVX512: Bool = rlhf_cpu_has_avx512() != 0

    /// The instruction set the SIMD kernels use here: "avx512", "avx2" or "portable".
    public static var kernelLevel: String { avx512 ? "avx512" : avx2FMA ? "avx2" : "portable" }

    /// Whether the environment variable `name` is set to `off` (any case): the switch of a kernel.
    public static func isSwitchedOff(_ name: String) -> Bool {
        guard let value = getenv(name) else { return false }
        return isOff(String(cString: value))
    }

    /// Whether `value` turns a switch off.
    static func isOff(_ value: String) -> Bool {
        value.lowercased() == "off"
    }
}
