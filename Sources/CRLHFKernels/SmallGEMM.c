// Packing-free GEMM for a few rows against a large row-major weight matrix (C = A·Bᵀ).
//
// OpenBLAS packs B on every call, which at decoding batch sizes costs as much as the arithmetic.
// Here a tile of 4 rows of B (4·K floats, in L1) is multiplied with up to 3 rows of A at a time
// into 12 AVX accumulators (3 inputs + 1 weight vector + 12 accumulators = the 16 ymm registers):
// 7 loads per 12 FMAs, and every byte of B is read from memory once. While the later row blocks
// work on a tile they prefetch the next one: without that, memory and arithmetic take turns (a
// batch-16 decoding step's GEMMs took 42 ms instead of 29 here).
#include "SmallGEMM.h"
#include "SIMDHelpers.h"

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>

__attribute__((target("avx2,fma"))) static inline void store(float *c, float value, float alpha, float beta) {
    *c = beta == 0.0f ? alpha * value : alpha * value + beta * *c;
}

// MB rows of A (1..3) times NB rows of B (1..4), dot products of length K. While it runs, the tile
// prefetches PF rows of B (pf, pf + pfStride, ...) into L1, one 32-byte step per row per iteration,
// so the next weight rows stream in from memory while this tile's arithmetic runs.
#define TILE(MB, NB, PF)                                                                              \
    __attribute__((target("avx2,fma"))) static void tile_##MB##x##NB##_##PF(                         \
        int K, float alpha, const float *A, int lda, const float *B, int ldb, float beta, float *C, int ldc, \
        const float *pf, long pfStride) {                                                             \
        __m256 acc[MB][NB];                                                                           \
        for (int i = 0; i < MB; i++)                                                                  \
            for (int j = 0; j < NB; j++) acc[i][j] = _mm256_setzero_ps();                             \
        int k = 0;                                                                                    \
        for (; k + 8 <= K; k += 8) {                                                                  \
            for (int r = 0; r < PF; r++) _mm_prefetch((const char *)(pf + r * pfStride + k), _MM_HINT_T0); \
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

TILE(1, 1, 0) TILE(2, 1, 0) TILE(3, 1, 0)
TILE(1, 4, 0) TILE(2, 4, 0) TILE(3, 4, 0)
TILE(1, 4, 1) TILE(2, 4, 1) TILE(3, 4, 1)
TILE(1, 4, 2) TILE(2, 4, 2) TILE(3, 4, 2)
TILE(1, 4, 4) TILE(2, 4, 4) TILE(3, 4, 4)

// 4 rows of A times 3 rows of B: also 12 accumulators, but the 3 weight vectors stay in registers
// and each input vector is loaded once for 3 FMAs (3 + 1 + 12 = 16 registers). Used when M is a
// multiple of 4 and at least 16, so that no 2-row blocks (8 accumulators: too few to hide the FMA
// latency) remain (at M = 8 and 12 the 3-row blocks measured faster).
#define TILE43(PF)                                                                                     \
    __attribute__((target("avx2,fma"))) static void tile_4x3_##PF(                                   \
        int K, float alpha, const float *A, int lda, const float *B, int ldb, float beta, float *C, int ldc, \
        const float *pf, long pfStride) {                                                             \
        __m256 acc[4][3];                                                                             \
        for (int i = 0; i < 4; i++)                                                                   \
            for (int j = 0; j < 3; j++) acc[i][j] = _mm256_setzero_ps();                              \
        int k = 0;                                                                                    \
        for (; k + 8 <= K; k += 8) {                                                                  \
            for (int r = 0; r < PF; r++) _mm_prefetch((const char *)(pf + r * pfStride + k), _MM_HINT_T0); \
            __m256 w[3];                                                                              \
            for (int j = 0; j < 3; j++) w[j] = _mm256_loadu_ps(B + (long)j * ldb + k);                \
            for (int i = 0; i < 4; i++) {                                                             \
                __m256 x = _mm256_loadu_ps(A + (long)i * lda + k);                                    \
                for (int j = 0; j < 3; j++) acc[i][j] = _mm256_fmadd_ps(x, w[j], acc[i][j]);          \
            }                                                                                         \
        }                                                                                             \
        for (int i = 0; i < 4; i++)                                                                   \
            for (int j = 0; j < 3; j++) {                                                             \
                float sum = horizontal_sum(acc[i][j]);                                                \
                for (int r = k; r < K; r++) sum += A[(long)i * lda + r] * B[(long)j * ldb + r];       \
                store(C + (long)i * ldc + j, sum, alpha, beta);                                       \
            }                                                                                         \
    }

TILE43(0) TILE43(1) TILE43(2) TILE43(3)

typedef void (*Tile)(int, float, const float *, int, const float *, int, float, float *, int, const float *, long);

// [rows of B prefetched per call: 0, 1, 2, 4][rows of A - 1]
static const Tile tiles_by_prefetch[4][3] = {
    {tile_1x4_0, tile_2x4_0, tile_3x4_0}, {tile_1x4_1, tile_2x4_1, tile_3x4_1},
    {tile_1x4_2, tile_2x4_2, tile_3x4_2}, {tile_1x4_4, tile_2x4_4, tile_3x4_4}};

// Height of row block `index` when M rows are cut into blocks of 3, with a remainder of 4 taken as
// 2 + 2 rather than 3 + 1 (a 1-row block is load-bound); returns the number of blocks.
static int row_blocks(int M, int heights[64]) {
    int count = 0, m = 0;
    for (; m + 3 <= M && M - m != 4; m += 3) heights[count++] = 3;
    for (; M - m >= 2; m += 2) heights[count++] = 2;
    if (M - m == 1) heights[count++] = 1;
    return count;
}

// Output columns [n0, n1) one at a time (the remainder after whole tiles).
__attribute__((target("avx2,fma"))) static void single_columns(int M, int n0, int n1, int K, float alpha, const float *A, int lda,
                                                               const float *B, int ldb, float beta, float *C, int ldc) {
    for (int n = n0; n < n1; n++) {
        const float *b = B + (long)n * ldb;
        int m = 0;
        for (; m + 3 <= M; m += 3) tile_3x1_0(K, alpha, A + (long)m * lda, lda, b, ldb, beta, C + (long)m * ldc + n, ldc, 0, 0);
        for (; M - m >= 2; m += 2) tile_2x1_0(K, alpha, A + (long)m * lda, lda, b, ldb, beta, C + (long)m * ldc + n, ldc, 0, 0);
        if (M - m == 1) tile_1x1_0(K, alpha, A + (long)m * lda, lda, b, ldb, beta, C + (long)m * ldc + n, ldc, 0, 0);
    }
}

// M a multiple of 4 (≥ 16): 4-row blocks against 3-row weight tiles; blocks 1..3 prefetch the next
// tile's rows (interleaved as in rlhf_small_gemm_nt).
__attribute__((target("avx2,fma"))) static void gemm_by_4x3(int M, int n0, int n1, int K, float alpha, const float *A, int lda,
                                                            const float *B, int ldb, float beta, float *C, int ldc) {
    static const Tile tiles[4] = {tile_4x3_0, tile_4x3_1, tile_4x3_2, tile_4x3_3};
    int blocks = M / 4;
    int helpers = blocks - 1 < 3 ? blocks - 1 : 3;
    int n = n0;
    for (; n + 3 <= n1; n += 3) {
        const float *b = B + (long)n * ldb;
        int hasNext = n + 6 <= n1;
        for (int t = 0; t < blocks; t++) {
            int prefetching = hasNext && t >= 1 && t <= helpers;
            int rows = prefetching ? 1 + (2 - (t - 1)) / helpers : 0;  // rows t-1, t-1+helpers, ... below 3
            tiles[rows](K, alpha, A + 4L * t * lda, lda, b, ldb, beta, C + 4L * t * ldc + n, ldc,
                        prefetching ? b + (3L + (t - 1)) * ldb : 0, (long)helpers * ldb);
        }
    }
    single_columns(M, n, n1, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

__attribute__((target("avx2,fma"))) void rlhf_small_gemm_nt(int M, int n0, int n1, int K, float alpha,
                                                            const float *A, int lda, const float *B, int ldb,
                                                            float beta, float *C, int ldc) {
    if (M <= 0 || M > 64) return;  // the caller keeps M ≤ 64
    if (M % 4 == 0 && M >= 16) {  // at M = 8 and 12 the 3-row blocks measured faster
        gemm_by_4x3(M, n0, n1, K, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
    }
    int heights[64];
    int blocks = row_blocks(M, heights);
    // The first row block of a 4-row weight tile reads it from memory; blocks 1..helpers prefetch
    // the next tile (rows n+4..n+7, interleaved: helper h takes rows h, h + helpers, ...), so memory
    // and arithmetic overlap. With a single block (M ≤ 3) the loads are the bottleneck already and
    // prefetching in the same loop only slows it down.
    int helpers = blocks - 1 < 4 ? blocks - 1 : 4;
    int n = n0;
    for (; n + 4 <= n1; n += 4) {
        const float *b = B + (long)n * ldb;
        int hasNext = n + 8 <= n1;
        int m = 0;
        for (int t = 0; t < blocks; t++) {
            int prefetching = hasNext && t >= 1 && t <= helpers;
            int rows = prefetching ? 1 + (3 - (t - 1)) / helpers : 0;  // rows t-1, t-1+helpers, ... below 4: 1, 2 or 4
            const float *pf = prefetching ? b + (4L + (t - 1)) * ldb : 0;
            int chosen = rows == 4 ? 3 : rows;
            tiles_by_prefetch[chosen][heights[t] - 1](K, alpha, A + (long)m * lda, lda, b, ldb, beta, C + (long)m * ldc + n,
                                                      ldc, pf, (long)helpers * ldb);
            m += heights[t];
        }
    }
    single_columns(M, n, n1, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

// AVX-512 (32 zmm registers): 4 rows of A against 6 rows of B, 24 accumulators, 10 loads per 24
// FMAs of 16 lanes (the AVX2 4x3 tile needs 7 per 12 of 8 lanes: 2.8 times the loads per flop).
// Blocks 1..3 prefetch the next tile's rows, PF rows each, as in the AVX2 kernel.
#define TILE46(PF)                                                                                     \
    __attribute__((target("avx512f,avx512dq,fma"))) static void tile512_4x6_##PF(                     \
        int K, float alpha, const float *A, int lda, const float *B, int ldb, float beta, float *C, int ldc, \
        const float *pf, long pfStride) {                                                             \
        __m512 acc[4][6];                                                                             \
        for (int i = 0; i < 4; i++)                                                                   \
            for (int j = 0; j < 6; j++) acc[i][j] = _mm512_setzero_ps();                              \
        int k = 0;                                                                                    \
        for (; k + 16 <= K; k += 16) {                                                                \
            for (int r = 0; r < PF; r++) _mm_prefetch((const char *)(pf + r * pfStride + k), _MM_HINT_T0); \
            __m512 x[4];                                                                              \
            for (int i = 0; i < 4; i++) x[i] = _mm512_loadu_ps(A + (long)i * lda + k);                \
            for (int j = 0; j < 6; j++) {                                                             \
                __m512 w = _mm512_loadu_ps(B + (long)j * ldb + k);                                    \
                for (int i = 0; i < 4; i++) acc[i][j] = _mm512_fmadd_ps(x[i], w, acc[i][j]);          \
            }                                                                                         \
        }                                                                                             \
        for (int i = 0; i < 4; i++)                                                                   \
            for (int j = 0; j < 6; j++) {                                                             \
                float sum = _mm512_reduce_add_ps(acc[i][j]);                                          \
                for (int r = k; r < K; r++) sum += A[(long)i * lda + r] * B[(long)j * ldb + r];       \
                float *c = C + (long)i * ldc + j;                                                     \
                *c = beta == 0.0f ? alpha * sum : alpha * sum + beta * *c;                            \
            }                                                                                         \
    }

TILE46(0) TILE46(2) TILE46(3) TILE46(6)

// AVX-512 for 1-3 rows of A (decoding a few sequences: bound by streaming the weights): 8 weight
// rows at a time, each read once, and the next 8 rows prefetched over the tile's K loop (one line
// per row per 16 floats), so 18 KiB (K = 576) are in flight ahead of the arithmetic.
#define TILE_M8(MB, PF)                                                                                \
    __attribute__((target("avx512f,avx512dq,fma"))) static void tile512_##MB##x8_##PF(                \
        int K, float alpha, const float *A, int lda, const float *B, int ldb, float beta, float *C, int ldc, \
        const float *pf) {                                                                            \
        __m512 acc[MB][8];                                                                            \
        for (int i = 0; i < MB; i++)                                                                  \
            for (int j = 0; j < 8; j++) acc[i][j] = _mm512_setzero_ps();                              \
        int k = 0;                                                                                    \
        for (; k + 16 <= K; k += 16) {                                                                \
            if (PF)                                                                                   \
                for (int r = 0; r < 8; r++) _mm_prefetch((const char *)(pf + (long)r * ldb + k), _MM_HINT_T0); \
            __m512 x[MB];                                                                             \
            for (int i = 0; i < MB; i++) x[i] = _mm512_loadu_ps(A + (long)i * lda + k);               \
            for (int j = 0; j < 8; j++) {                                                             \
                __m512 w = _mm512_loadu_ps(B + (long)j * ldb + k);                                    \
                for (int i = 0; i < MB; i++) acc[i][j] = _mm512_fmadd_ps(x[i], w, acc[i][j]);         \
            }                                                                                         \
        }                                                                                             \
        for (int i = 0; i < MB; i++)                                                                  \
            for (int j = 0; j < 8; j++) {                                                             \
                float sum = _mm512_reduce_add_ps(acc[i][j]);                                          \
                for (int r = k; r < K; r++) sum += A[(long)i * lda + r] * B[(long)j * ldb + r];       \
                float *c = C + (long)i * ldc + j;                                                     \
                *c = beta == 0.0f ? alpha * sum : alpha * sum + beta * *c;                            \
            }                                                                                         \
    }

TILE_M8(1, 0) TILE_M8(2, 0) TILE_M8(3, 0) TILE_M8(1, 1) TILE_M8(2, 1) TILE_M8(3, 1)

typedef void (*TileM8)(int, float, const float *, int, const float *, int, float, float *, int, const float *);


__attribute__((target("avx512f,avx512dq,fma"))) static void gemm_few_rows_avx512(
    int M, int n0, int n1, int K, float alpha, const float *A, int lda, const float *B, int ldb, float beta, float *C, int ldc) {
    static const TileM8 plain[3] = {tile512_1x8_0, tile512_2x8_0, tile512_3x8_0};
    static const TileM8 ahead[3] = {tile512_1x8_1, tile512_2x8_1, tile512_3x8_1};
    int n = n0;
    for (; n + 8 <= n1; n += 8) {
        const float *b = B + (long)n * ldb;
        int hasNext = n + 16 <= n1;  // without the prefetch: batch 1 48/38, with it 50/46 tokens/s (Zen 4)
        (hasNext ? ahead : plain)[M - 1](K, alpha, A, lda, b, ldb, beta, C + n, ldc, hasNext ? b + 8L * ldb : 0);
    }
    if (n < n1) rlhf_small_gemm_nt(M, n, n1, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

// M a multiple of 4 (>= 8): 4-row blocks against 6-row weight tiles; blocks 1..helpers prefetch
// the next tile (helper h takes rows h, h + helpers, ...). Other M: the AVX2 kernel.
__attribute__((target("avx512f,avx512dq,fma"))) void rlhf_small_gemm_nt_avx512(
    int M, int n0, int n1, int K, float alpha, const float *A, int lda, const float *B, int ldb, float beta, float *C, int ldc) {
    if (M <= 0 || M > 64) return;
    if (M <= 3 && K >= 16) {
        gemm_few_rows_avx512(M, n0, n1, K, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
    }
    if (M % 4 != 0 || M < 8 || K < 16) {
        rlhf_small_gemm_nt(M, n0, n1, K, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
    }
    int blocks = M / 4;
    int helpers = blocks - 1 < 3 ? blocks - 1 : 3;
    int perHelper = 6 / helpers;  // 6, 3 or 2 rows
    Tile prefetching = perHelper == 6 ? tile512_4x6_6 : perHelper == 3 ? tile512_4x6_3 : tile512_4x6_2;
    int n = n0;
    for (; n + 6 <= n1; n += 6) {
        const float *b = B + (long)n * ldb;
        int hasNext = n + 12 <= n1;
        for (int t = 0; t < blocks; t++) {
            int helping = hasNext && t >= 1 && t <= helpers;
            (helping ? prefetching : tile512_4x6_0)(K, alpha, A + 4L * t * lda, lda, b, ldb, beta, C + 4L * t * ldc + n, ldc,
                                                    helping ? b + (6L + (t - 1)) * ldb : 0, (long)helpers * ldb);
        }
    }
    if (n < n1) rlhf_small_gemm_nt(M, n, n1, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

#else

void rlhf_small_gemm_nt_avx512(int M, int n0, int n1, int K, float alpha, const float *A, int lda, const float *B, int ldb,
                               float beta, float *C, int ldc) {
    rlhf_small_gemm_nt(M, n0, n1, K, alpha, A, lda, B, ldb, beta, C, ldc);
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
