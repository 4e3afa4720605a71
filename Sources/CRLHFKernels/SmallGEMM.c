// Packing-free GEMM for a few rows against a large row-major weight matrix (C = A·Bᵀ).
//
// OpenBLAS packs B on every call, which at decoding batch sizes costs as much as the arithmetic.
// Here a tile of 4 rows of B (4·K floats, in L1) is multiplied with up to 3 rows of A at a time
// into 12 AVX accumulators (3 inputs + 1 weight vector + 12 accumulators = the 16 ymm registers):
// 7 loads per 12 FMAs, and every byte of B is read from memory once.
#include "CRLHFKernels.h"

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>

int rlhf_small_gemm_available(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

__attribute__((target("avx2,fma"))) static inline float horizontal_sum(__m256 v) {
    __m128 low = _mm256_castps256_ps128(v), high = _mm256_extractf128_ps(v, 1);
    __m128 sum = _mm_add_ps(low, high);
    sum = _mm_add_ps(sum, _mm_movehl_ps(sum, sum));
    sum = _mm_add_ss(sum, _mm_shuffle_ps(sum, sum, 0x55));
    return _mm_cvtss_f32(sum);
}

__attribute__((target("avx2,fma"))) static inline void store(float *c, float value, float alpha, float beta) {
    *c = beta == 0.0f ? alpha * value : alpha * value + beta * *c;
}

// MB rows of A (1..3) times NB rows of B (1..4), dot products of length K.
#define TILE(MB, NB)                                                                                  \
    __attribute__((target("avx2,fma"))) static void tile_##MB##x##NB(                                \
        int K, float alpha, const float *A, int lda, const float *B, int ldb, float beta, float *C, int ldc) { \
        __m256 acc[MB][NB];                                                                           \
        for (int i = 0; i < MB; i++)                                                                  \
            for (int j = 0; j < NB; j++) acc[i][j] = _mm256_setzero_ps();                             \
        int k = 0;                                                                                    \
        for (; k + 8 <= K; k += 8) {                                                                  \
            __m256 x[MB];                                                                             \
            for (int i = 0; i < MB; i++) x[i] = _mm256_loadu_ps(A + (long)i * lda + k);               \
            for (int j = 0; j < NB; j++) {                                                            \
                __m256 w = _mm256_loadu_ps(B + (long)j * ldb + k);                                    \
                for (int i = 0; i < MB; i++) acc[i][j] = _mm256_fmadd_ps(x[i], w, acc[i][j]);         \
            }                                                                                         \
        }                                                                                             \
        for (int i = 0; i < MB; i++)                                                                  \
            for (int j = 0; j < NB; j++) {                                                            \
                float sum = horizontal_sum(acc[i][j]);                                                \
                for (int r = k; r < K; r++) sum += A[(long)i * lda + r] * B[(long)j * ldb + r];       \
                store(C + (long)i * ldc + j, sum, alpha, beta);                                       \
            }                                                                                         \
    }

TILE(1, 1) TILE(1, 4) TILE(2, 1) TILE(2, 4) TILE(3, 1) TILE(3, 4)

__attribute__((target("avx2,fma"))) void rlhf_small_gemm_nt(int M, int n0, int n1, int K, float alpha,
                                                            const float *A, int lda, const float *B, int ldb,
                                                            float beta, float *C, int ldc) {
    int n = n0;
    for (; n + 4 <= n1; n += 4) {
        const float *b = B + (long)n * ldb;
        int m = 0;
        // Blocks of 3 rows; a remainder of 4 goes as 2 + 2 rather than 3 + 1 (a 1-row block is load-bound).
        for (; m + 3 <= M && M - m != 4; m += 3) tile_3x4(K, alpha, A + (long)m * lda, lda, b, ldb, beta, C + (long)m * ldc + n, ldc);
        for (; M - m >= 2; m += 2) tile_2x4(K, alpha, A + (long)m * lda, lda, b, ldb, beta, C + (long)m * ldc + n, ldc);
        if (M - m == 1) tile_1x4(K, alpha, A + (long)m * lda, lda, b, ldb, beta, C + (long)m * ldc + n, ldc);
    }
    for (; n < n1; n++) {
        const float *b = B + (long)n * ldb;
        int m = 0;
        for (; m + 3 <= M; m += 3) tile_3x1(K, alpha, A + (long)m * lda, lda, b, ldb, beta, C + (long)m * ldc + n, ldc);
        for (; M - m >= 2; m += 2) tile_2x1(K, alpha, A + (long)m * lda, lda, b, ldb, beta, C + (long)m * ldc + n, ldc);
        if (M - m == 1) tile_1x1(K, alpha, A + (long)m * lda, lda, b, ldb, beta, C + (long)m * ldc + n, ldc);
    }
}

// e^x for 8 lanes: x = n·ln2 + r, degree-6 polynomial for e^r (the engine's Swift exp, in AVX2).
__attribute__((target("avx2,fma"))) static inline __m256 exp8(__m256 x) {
    x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-87.33654f)), _mm256_set1_ps(88.37626f));
    __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
    p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    __m256i bits = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(bits));
}

__attribute__((target("avx2,fma"))) void rlhf_attention_decode(int G, int HS, int count, float scale, const float *q, int qStride,
                                                               const float *keys, const float *values, float *scores, float *out,
                                                               int outStride) {
    for (int g = 0; g < G; g++) {
        const float *qg = q + (long)g * qStride;
        float *sg = scores + (long)g * count;
        float maximum = -3.402823466e38f;
        for (int s = 0; s < count; s++) {
            const float *k = keys + (long)s * HS;
            __m256 acc = _mm256_setzero_ps();
            for (int d = 0; d < HS; d += 8) acc = _mm256_fmadd_ps(_mm256_loadu_ps(qg + d), _mm256_loadu_ps(k + d), acc);
            float value = horizontal_sum(acc) * scale;
            sg[s] = value;
            if (value > maximum) maximum = value;
        }
        // Softmax in place.
        __m256 shift = _mm256_set1_ps(maximum), total = _mm256_setzero_ps();
        int s = 0;
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
        float inverse = 1.0f / sum;
        // out[g] = Σ_s p_s · v_s, 32 dimensions at a time.
        float *og = out + (long)g * outStride;
        for (int d0 = 0; d0 < HS; d0 += 32) {
            int lanes = HS - d0 >= 32 ? 4 : (HS - d0) / 8;
            __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
            for (int t = 0; t < count; t++) {
                __m256 p = _mm256_set1_ps(sg[t] * inverse);
                const float *v = values + (long)t * HS + d0;
                for (int j = 0; j < lanes; j++) acc[j] = _mm256_fmadd_ps(p, _mm256_loadu_ps(v + 8 * j), acc[j]);
            }
            for (int j = 0; j < lanes; j++) _mm256_storeu_ps(og + d0 + 8 * j, acc[j]);
        }
    }
}

#else

int rlhf_small_gemm_available(void) { return 0; }

void rlhf_attention_decode(int G, int HS, int count, float scale, const float *q, int qStride, const float *keys,
                           const float *values, float *scores, float *out, int outStride) {
    (void)G; (void)HS; (void)count; (void)scale; (void)q; (void)qStride; (void)keys; (void)values; (void)scores;
    (void)out; (void)outStride;  // never called: rlhf_small_gemm_available() is 0 here
}

void rlhf_small_gemm_nt(int M, int n0, int n1, int K, float alpha, const float *A, int lda, const float *B, int ldb,
                        float beta, float *C, int ldc) {
    for (int m = 0; m < M; m++)
        for (int n = n0; n < n1; n++) {
            float sum = 0;
            for (int k = 0; k < K; k++) sum += A[(long)m * lda + k] * B[(long)n * ldb + k];
            C[(long)m * ldc + n] = beta == 0.0f ? alpha * sum : alpha * sum + beta * C[(long)m * ldc + n];
        }
}

#endif
