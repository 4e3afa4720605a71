// Attention of one decoding token over its cached keys and values, per group of query heads that
// share a key/value head (see DecodeAttention.h).
#include "DecodeAttention.h"
#include "SIMDHelpers.h"

#if defined(__x86_64__) || defined(_M_X64)

// The 8 horizontal sums of a[0..7] as one vector: result lane j = sum of a[j]'s lanes.
__attribute__((target("avx2,fma"))) static inline __m256 horizontal_sums8(const __m256 a[8]) {
    __m256 t0 = _mm256_hadd_ps(a[0], a[1]), t1 = _mm256_hadd_ps(a[2], a[3]);
    __m256 t2 = _mm256_hadd_ps(a[4], a[5]), t3 = _mm256_hadd_ps(a[6], a[7]);
    __m256 u0 = _mm256_hadd_ps(t0, t1), u1 = _mm256_hadd_ps(t2, t3);  // per 128-bit half: sums 0-3 | 4-7
    return _mm256_add_ps(_mm256_permute2f128_ps(u0, u1, 0x20), _mm256_permute2f128_ps(u0, u1, 0x31));
}

__attribute__((target("avx2,fma"))) void rlhf_attention_decode(int G, int HS, int count, float scale, const float *q, int qStride,
                                                               const float *keys, const float *values, float *scores, float *out,
                                                               int outStride) {
    for (int g = 0; g < G; g++) {
        const float *qg = q + (long)g * qStride;
        float *sg = scores + (long)g * count;
        // Scores, 8 positions at a time: 8 independent dot products, then one transposing reduction
        // (one position at a time would wait on a single chain of dependent FMAs).
        __m256 maxima = _mm256_set1_ps(-3.402823466e38f);
        int s = 0;
        for (; s + 8 <= count; s += 8) {
            __m256 acc[8];
            for (int j = 0; j < 8; j++) acc[j] = _mm256_setzero_ps();
            for (int d = 0; d < HS; d += 8) {
                __m256 x = _mm256_loadu_ps(qg + d);
                for (int j = 0; j < 8; j++) acc[j] = _mm256_fmadd_ps(x, _mm256_loadu_ps(keys + (long)(s + j) * HS + d), acc[j]);
            }
            __m256 value = _mm256_mul_ps(horizontal_sums8(acc), _mm256_set1_ps(scale));
            _mm256_storeu_ps(sg + s, value);
            maxima = _mm256_max_ps(maxima, value);
        }
        __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(maxima), _mm256_extractf128_ps(maxima, 1));
        m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
        m4 = _mm_max_ss(m4, _mm_shuffle_ps(m4, m4, 0x55));
        float maximum = _mm_cvtss_f32(m4);
        for (; s < count; s++) {
            const float *k = keys + (long)s * HS;
            __m256 acc = _mm256_setzero_ps();
            for (int d = 0; d < HS; d += 8) acc = _mm256_fmadd_ps(_mm256_loadu_ps(qg + d), _mm256_loadu_ps(k + d), acc);
            float value = horizontal_sum(acc) * scale;
            sg[s] = value;
            if (value > maximum) maximum = value;
        }
        // Softmax in place.
        __m256 shift = _mm256_set1_ps(maximum), total = _mm256_setzero_ps();
        s = 0;
        for (; s + 8 <= count; s += 8) {
            __m256 e = exp8(_mm256_sub_ps(_mm256_loadu_ps(sg + s), shift));
            _mm256_storeu_ps(sg + s, e);
            total = _mm256_add_ps(total, e);
        }
        float sum = horizontal_sum(total);
        for (; s < count; s++) {
            float e = _mm256_cvtss_f32(exp8(_mm256_set1_ps(sg[s] - maximum)));
            sg[s] = e;
            sum += e;
        }
        __m256 inverse = _mm256_set1_ps(1.0f / sum);
        // out[g] = Σ_s p_s · v_s, up to 64 dimensions (8 independent accumulators) at a time.
        float *og = out + (long)g * outStride;
        for (int d0 = 0; d0 < HS; d0 += 64) {
            int lanes = HS - d0 >= 64 ? 8 : (HS - d0) / 8;
            __m256 acc[8];
            for (int j = 0; j < 8; j++) acc[j] = _mm256_setzero_ps();
            if (lanes == 8) {
                for (int t = 0; t < count; t++) {
                    __m256 p = _mm256_broadcast_ss(sg + t);
                    const float *v = values + (long)t * HS + d0;
                    for (int j = 0; j < 8; j++) acc[j] = _mm256_fmadd_ps(p, _mm256_loadu_ps(v + 8 * j), acc[j]);
                }
            } else {
                for (int t = 0; t < count; t++) {
                    __m256 p = _mm256_broadcast_ss(sg + t);
                    const float *v = values + (long)t * HS + d0;
                    for (int j = 0; j < lanes; j++) acc[j] = _mm256_fmadd_ps(p, _mm256_loadu_ps(v + 8 * j), acc[j]);
                }
            }
            for (int j = 0; j < lanes; j++) _mm256_storeu_ps(og + d0 + 8 * j, _mm256_mul_ps(acc[j], inverse));
        }
    }
}

#else

void rlhf_attention_decode(int G, int HS, int count, float scale, const float *q, int qStride, const float *keys,
                           const float *values, float *scores, float *out, int outStride) {
    (void)G; (void)HS; (void)count; (void)scale; (void)q; (void)qStride; (void)keys; (void)values; (void)scores;
    (void)out; (void)outStride;  // never called: rlhf_cpu_has_avx2_fma() is 0 here
}

#endif
