// Run-time CPU feature checks (see CPUFeatures.h).
#include "CPUFeatures.h"

#if defined(__x86_64__) || defined(_M_X64)

int rlhf_cpu_has_avx2_fma(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

#else

int rlhf_cpu_has_avx2_fma(void) { return 0; }

#endif
