#ifndef CRLHF_CPU_FEATURES_H
#define CRLHF_CPU_FEATURES_H

/// 1 when this CPU has AVX2 and FMA (x86-64 only, checked at run time; 0 elsewhere): the
/// instructions every SIMD kernel of this module is compiled for. Swift: `CPUFeatures.avx2FMA`,
/// which also honours `RLHF_SIMD_KERNELS=off`.
int rlhf_cpu_has_avx2_fma(void);

/// 1 when this CPU also has AVX-512 F, BW, VL and DQ (the kernels' AVX-512 variants). Swift:
/// `CPUFeatures.avx512`, which also honours `RLHF_AVX512=off`.
int rlhf_cpu_has_avx512(void);

#endif
