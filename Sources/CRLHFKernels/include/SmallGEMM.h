#ifndef CRLHF_SMALL_GEMM_H
#define CRLHF_SMALL_GEMM_H

/// C[m, n] = alpha * sum_k A[m, k] * B[n, k] + beta * C[m, n] for rows m < M and output columns
/// n in [n0, n1), all row-major: A is M x K (lda), B is N x K (ldb, e.g. a weight matrix stored
/// [out, in]), C is M x N (ldc). Meant for small M (decoding batches, M <= 64): B is streamed once,
/// with no packing. beta == 0 overwrites C. Requires rlhf_cpu_has_avx2_fma() on x86-64 (elsewhere
/// a scalar loop). Swift front: `SmallBatchGEMM` (RLHFTensor).
void rlhf_small_gemm_nt(int M, int n0, int n1, int K, float alpha, const float *A, int lda,
                        const float *B, int ldb, float beta, float *C, int ldc);

/// The same product with AVX-512 tiles where M is a multiple of 4 (>= 8), the AVX2 kernel
/// otherwise. Requires rlhf_cpu_has_avx512() on x86-64.
void rlhf_small_gemm_nt_avx512(int M, int n0, int n1, int K, float alpha, const float *A, int lda,
                               const float *B, int ldb, float beta, float *C, int ldc);

#endif
