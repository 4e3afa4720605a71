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

#else

int rlhf_small_gemm_available(void) { return 0; }

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
