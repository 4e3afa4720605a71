#ifndef CRLHF_QUANTIZED_GEMM_H
#define CRLHF_QUANTIZED_GEMM_H

#include <stdint.h>

/// Rows of 8-bit weights in blocks of 32 (llama.cpp's Q8_0, with a float32 scale per block):
/// w[n, k] = scales[n * (K / 32) + k / 32] * values[n * K + k]. K must be a multiple of 32.
///
/// Quantizes `rows` rows of K floats (row-major, `ld` apart) the way llama.cpp makes Q8_0:
/// scale = max |w| / 127 over the block, value = round(w / scale) (0 for an all-zero block).
void rlhf_q8_quantize(int rows, int K, const float *W, long ld, int8_t *values, float *scales);

/// C[m, n] = sum_k A[m, k] * w[n, k] + beta * C[m, n] for m < M and n in [n0, n1), with the
/// weights in the layout above (row n at values + n * K). A tile of weight rows is dequantized into
/// a per-thread scratch block in L1/L2 and multiplied there by the small-batch float kernel, so each
/// weight byte is read from memory once per call. `avx512`: 1 dequantizes with AVX-512 (only where
/// the CPU has AVX-512F and BW). Needs AVX2/FMA on x86-64 (rlhf_cpu_has_avx2_fma); elsewhere a
/// scalar loop. M <= 64. Swift front: `QuantizedMatrix` (RLHFTensor).
void rlhf_q8_gemm_nt(int M, int n0, int n1, int K, const float *A, int lda, const int8_t *values, const float *scales,
                     float beta, float *C, int ldc, int avx512);

/// Largest M for which rlhf_q8_gemm_nt widens the weights in registers (beyond it, a scratch
/// block): 8 with `avx512`, 4 without.
int rlhf_q8_fused_rows(int avx512);

#endif
