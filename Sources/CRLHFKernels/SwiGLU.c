// The SwiGLU gate a = silu(g)·u of the Llama MLP, forward (see SwiGLU.h).
#include "SwiGLU.h"
#include "SIMDHelpers.h"

#if defined(__x86_64__) || defined(_M_X64)

__attribute__((target("avx2,fma"))) void rlhf_swiglu_forward(const float *gateUp, float *out, int rows, int F) {
    __m256 one = _mm256_set1_ps(1.0f);
    for (int n = 0; n < rows; n++) {
        const float *g = gateUp + 2L * F * n, *u = g + F;
        float *a = out + (long)F * n;
        int i = 0;
        for (; i + 8 <= F; i += 8) {
            __m256 gv = _mm256_loadu_ps(g + i);
            __m256 sigma = _mm256_div_ps(one, _mm256_add_ps(one, exp8(_mm256_sub_ps(_mm256_setzero_ps(), gv))));
            _mm256_storeu_ps(a + i, _mm256_mul_ps(_mm256_mul_ps(gv, sigma), _mm256_loadu_ps(u + i)));
        }
        for (; i < F; i++) {
            float sigma = 1.0f / (1.0f + _mm256_cvtss_f32(exp8(_mm256_set1_ps(-g[i]))));
            a[i] = g[i] * sigma * u[i];
        }
    }
}

#else

void rlhf_swiglu_forward(const float *gateUp, float *out, int rows, int F) {
    (void)gateUp; (void)out; (void)rows; (void)F;  // never called: rlhf_cpu_has_avx2_fma() is 0 here
}

#endif
