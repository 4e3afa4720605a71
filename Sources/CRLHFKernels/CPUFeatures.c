// Run-time CPU feature checks (see CPUFeatures.h).
#include "CPUFeatures.h"

#if defined(__x86_64__) || defined(_M_X64)

int rlhf_cpu_has_avx2_fma(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

int rlhf_cpu_has_avx512(void) {
    __builtin_cpu_init();
    return rlhf_cpu_has_avx2_fma() && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
}

#else

int rlhf_cpu_has_avx2_fma(void) { return 0; }
int rlhf_cpu_has_avx512(void) { return 0; }

#endif
