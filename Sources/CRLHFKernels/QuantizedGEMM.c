// GEMM against 8-bit block-quantized weights (Q8_0 with float scales) for decoding batches.
//
// Decoding reads every weight once per step; at batch 1 that is the whole cost, so weights of a
// quarter the size (1.125 bytes instead of 4) are up to ~3.5× faster to stream. The kernel keeps
// the float arithmetic of the small-batch GEMM: a tile of weight rows is widened to float into a
// per-thread scratch (in L1 for K = 576) and multiplied there with every row of A, so the widening
// costs once per weight however many rows A has. Only the weights are rounded, never the inputs.
#include "QuantizedGEMM.h"
#include "SmallGEMM.h"
#include "SIMDHelpers.h"
#include <math.h>
#include <stdlib.h>

void rlhf_q8_quantize(int rows, int K, const float *W, long ld, int8_t *values, float *scales) {
    int blocks = K / 32;
    for (int n = 0; n < rows; n++) {
        const float *w = W + (long)n * ld;
        for (int j = 0; j < blocks; j++) {
            float amax = 0;
            for (int i = 0; i < 32; i++) amax = fmaxf(amax, fabsf(w[32 * j + i]));
            float d = amax / 127.0f, inverse = d != 0 ? 1.0f / d : 0.0f;
            scales[(long)n * blocks + j] = d;
            for (int i = 0; i < 32; i++) {
                // roundf (half away from zero), without the library call: |x| <= 127.5 here, so the
                // truncation and the remainder are exact.
                float x = w[32 * j + i] * inverse, a = fabsf(x);
                int q = (int)a;
                q += (a - (float)q) >= 0.5f;
                values[(long)n * K + 32 * j + i] = (int8_t)(x < 0 ? -q : q);
            }
        }
    }
}

// Weight rows per tile: a multiple of 3 and of 4 (the float kernel's tile widths).
enum { TILE_ROWS = 12 };
// Largest M that takes the fused tiles rather than the scratch (measured on Zen 4; see the bench).
enum { FUSED_ROWS_AVX512 = 8, FUSED_ROWS_AVX2 = 4 };

int rlhf_q8_fused_rows(int avx512) { return avx512 ? FUSED_ROWS_AVX512 : FUSED_ROWS_AVX2; }

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>

// rows × K weights → floats (out[r * K + k]), prefetching the next tile's bytes as it goes.
__attribute__((target("avx2,fma"))) static void widen_avx2(int rows, int K, const int8_t *q, const float *s, float *out,
                                                           const int8_t *next, int nextRows) {
    int blocks = K / 32;
    for (int r = 0; r < rows; r++) {
        const int8_t *row = q + (long)r * K;
        if (r < nextRows)
            for (int k = 0; k < K; k += 64) _mm_prefetch((const char *)(next + (long)r * K + k), _MM_HINT_T0);
        for (int j = 0; j < blocks; j++) {
            __m256 d = _mm256_set1_ps(s[(long)r * blocks + j]);
            for (int h = 0; h < 4; h++) {
                __m256i v = _mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(row + 32 * j + 8 * h)));
                _mm256_storeu_ps(out + (long)r * K + 32 * j + 8 * h, _mm256_mul_ps(_mm256_cvtepi32_ps(v), d));
            }
        }
    }
}

__attribute__((target("avx512f,avx512bw,fma"))) static void widen_avx512(int rows, int K, const int8_t *q, const float *s,
                                                                          float *out, const int8_t *next, int nextRows) {
    int blocks = K / 32;
    for (int r = 0; r < rows; r++) {
        const int8_t *row = q + (long)r * K;
        if (r < nextRows)
            for (int k = 0; k < K; k += 64) _mm_prefetch((const char *)(next + (long)r * K + k), _MM_HINT_T0);
        for (int j = 0; j < blocks; j++) {
            __m512 d = _mm512_set1_ps(s[(long)r * blocks + j]);
            __m512i low = _mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(row + 32 * j)));
            __m512i high = _mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(row + 32 * j + 16)));
            _mm512_storeu_ps(out + (long)r * K + 32 * j, _mm512_mul_ps(_mm512_cvtepi32_ps(low), d));
            _mm512_storeu_ps(out + (long)r * K + 32 * j + 16, _mm512_mul_ps(_mm512_cvtepi32_ps(high), d));
        }
    }
}


// Fused tiles for few rows of A: MB rows × 4 weight rows, the weights widened in registers and
// scaled per block as they are used (nothing goes through memory but the weight bytes). `next`
// is the following tile's first weight row, prefetched one cache line per 64 weights of each row.
#define FUSED512(MB)                                                                                   \
    __attribute__((target("avx512f,avx512bw,fma"))) static void fused512_##MB(                        \
        int K, const float *A, int lda, const int8_t *q, const float *s, float beta, float *C, int ldc,   \
        const int8_t *next) {                                                                          \
        __m512 acc[MB][4];                                                                             \
        for (int i = 0; i < MB; i++)                                                                   \
            for (int r = 0; r < 4; r++) acc[i][r] = _mm512_setzero_ps();                               \
        int blocks = K / 32;                                                                           \
        for (int j = 0; j < blocks; j++) {                                                             \
            if (next && (j & 1) == 0)                                                                  \
                for (int r = 0; r < 4; r++) _mm_prefetch((const char *)(next + (long)r * K + 32 * j), _MM_HINT_T0); \
            for (int h = 0; h < 2; h++) {                                                              \
                __m512 x[MB];                                                                          \
                for (int i = 0; i < MB; i++) x[i] = _mm512_loadu_ps(A + (long)i * lda + 32 * j + 16 * h); \
                for (int r = 0; r < 4; r++) {                                                          \
                    __m512i v = _mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(q + (long)r * K + 32 * j + 16 * h))); \
                    __m512 w = _mm512_mul_ps(_mm512_cvtepi32_ps(v), _mm512_set1_ps(s[(long)r * blocks + j])); \
                    for (int i = 0; i < MB; i++) acc[i][r] = _mm512_fmadd_ps(x[i], w, acc[i][r]);      \
                }                                                                                      \
            }                                                                                          \
        }                                                                                              \
        for (int i = 0; i < MB; i++)                                                                   \
            for (int r = 0; r < 4; r++) {                                                              \
                float sum = _mm512_reduce_add_ps(acc[i][r]);                                           \
                float *c = C + (long)i * ldc + r;                                                      \
                *c = beta == 0.0f ? sum : sum + beta * *c;                                             \
            }                                                                                          \
    }

#define FUSED256(MB)                                                                                   \
    __attribute__((target("avx2,fma"))) static void fused256_##MB(                                    \
        int K, const float *A, int lda, const int8_t *q, const float *s, float beta, float *C, int ldc,   \
        const int8_t *next) {                                                                          \
        __m256 acc[MB][4];                                                                             \
        for (int i = 0; i < MB; i++)                                                                   \
            for (int r = 0; r < 4; r++) acc[i][r] = _mm256_setzero_ps();                               \
        int blocks = K / 32;                                                                           \
        for (int j = 0; j < blocks; j++) {                                                             \
            if (next && (j & 1) == 0)                                                                  \
                for (int r = 0; r < 4; r++) _mm_prefetch((const char *)(next + (long)r * K + 32 * j), _MM_HINT_T0); \
            __m256 d[4];                                                                               \
            for (int r = 0; r < 4; r++) d[r] = _mm256_set1_ps(s[(long)r * blocks + j]);                \
            for (int h = 0; h < 4; h++) {                                                              \
                __m256 x[MB];                                                                          \
                for (int i = 0; i < MB; i++) x[i] = _mm256_loadu_ps(A + (long)i * lda + 32 * j + 8 * h); \
                for (int r = 0; r < 4; r++) {                                                          \
                    __m256i v = _mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(q + (long)r * K + 32 * j + 8 * h))); \
                    __m256 w = _mm256_mul_ps(_mm256_cvtepi32_ps(v), d[r]);                             \
                    for (int i = 0; i < MB; i++) acc[i][r] = _mm256_fmadd_ps(x[i], w, acc[i][r]);      \
                }                                                                                      \
            }                                                                                          \
        }                                                                                              \
        for (int i = 0; i < MB; i++)                                                                   \
            for (int r = 0; r < 4; r++) {                                                              \
                float sum = horizontal_sum(acc[i][r]);                                                 \
                float *c = C + (long)i * ldc + r;                                                      \
                *c = beta == 0.0f ? sum : sum + beta * *c;                                             \
            }                                                                                          \
    }

FUSED512(1) FUSED512(2) FUSED512(3) FUSED512(4)
FUSED256(1) FUSED256(2)

typedef void (*FusedTile)(int, const float *, int, const int8_t *, const float *, float, float *, int, const int8_t *);
static const FusedTile fused512[4] = {fused512_1, fused512_2, fused512_3, fused512_4};
static const FusedTile fused256[2] = {fused256_1, fused256_2};

// M rows through the fused tiles (rows of A in blocks of `widest`), weight rows [n0, n1) in
// groups of 4; returns the first weight row not done (a remainder of 1–3 rows).
static int fused_gemm(int M, int n0, int n1, int K, const float *A, int lda, const int8_t *values, const float *scales,
                      float beta, float *C, int ldc, int avx512) {
    int blocks = K / 32, widest = avx512 ? 4 : 2;
    int n = n0, ahead = 4;  // one tile ahead: 2 and 4 measured no different on Zen 4
    for (; n + 4 <= n1; n += 4) {
        const int8_t *q = values + (long)n * K;
        const int8_t *next = n + ahead + 4 <= n1 ? q + (long)ahead * K : 0;
        for (int m = 0; m < M;) {
            int rows = M - m < widest ? M - m : widest;
            // M = 5 as 3 + 2 rather than 4 + 1, and so on: a 1-row block is load-bound.
            if (avx512 && M - m == 5) rows = 3;
            const FusedTile tile = avx512 ? fused512[rows - 1] : fused256[rows - 1];
            tile(K, A + (long)m * lda, lda, q, scales + (long)n * blocks, beta, C + (long)m * ldc + n, ldc, m == 0 ? next : 0);
            m += rows;
        }
    }
    return n;
}
#define HAVE_SIMD_WIDEN 1
#endif

__attribute__((unused)) static void widen_scalar(int rows, int K, const int8_t *q, const float *s, float *out) {
    int blocks = K / 32;
    for (int r = 0; r < rows; r++)
        for (int k = 0; k < K; k++) out[(long)r * K + k] = s[(long)r * blocks + k / 32] * (float)q[(long)r * K + k];
}

// One scratch per thread, grown as needed (never freed: a few tens of KiB per worker).
static _Thread_local float *scratch = 0;
static _Thread_local long scratchCount = 0;

void rlhf_q8_gemm_nt(int M, int n0, int n1, int K, const float *A, int lda, const int8_t *values, const float *scales,
                     float beta, float *C, int ldc, int avx512) {
    if (M <= 0 || M > 64 || K % 32 != 0) return;  // the caller checks both
    long need = (long)TILE_ROWS * K;
    if (scratchCount < need) {
        free(scratch);
        scratch = (float *)malloc(sizeof(float) * need);
        scratchCount = scratch ? need : 0;
        if (!scratch) return;
    }
    int blocks = K / 32;
#ifdef HAVE_SIMD_WIDEN
    // Few rows: widen in registers (the scratch round trip costs more than the arithmetic).
    if (M <= (avx512 ? FUSED_ROWS_AVX512 : FUSED_ROWS_AVX2))
        n0 = fused_gemm(M, n0, n1, K, A, lda, values, scales, beta, C, ldc, avx512);
#endif
    for (int n = n0; n < n1; n += TILE_ROWS) {
        int rows = n1 - n < TILE_ROWS ? n1 - n : TILE_ROWS;
        const int8_t *q = values + (long)n * K;
        const float *s = scales + (long)n * blocks;
#ifdef HAVE_SIMD_WIDEN
        int nextRows = n1 - (n + rows) < TILE_ROWS ? n1 - (n + rows) : TILE_ROWS;
        if (avx512) widen_avx512(rows, K, q, s, scratch, q + (long)rows * K, nextRows);
        else widen_avx2(rows, K, q, s, scratch, q + (long)rows * K, nextRows);
#else
        (void)avx512;
        widen_scalar(rows, K, q, s, scratch);
#endif
        if (avx512) rlhf_small_gemm_nt_avx512(M, 0, rows, K, 1.0f, A, lda, scratch, K, beta, C + n, ldc);
        else rlhf_small_gemm_nt(M, 0, rows, K, 1.0f, A, lda, scratch, K, beta, C + n, ldc);
    }
}
