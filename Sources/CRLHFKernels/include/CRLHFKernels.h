#ifndef CRLHF_KERNELS_H
#define CRLHF_KERNELS_H

/// 1 when this CPU runs the AVX2+FMA kernels below (x86-64 only; checked at run time, so the
/// library itself is built for baseline x86-64 and stays safe on older CPUs).
int rlhf_small_gemm_available(void);

/// C[m, n] = alpha * sum_k A[m, k] * B[n, k] + beta * C[m, n] for rows m < M and output columns
/// n in [n0, n1), all row-major: A is M x K (lda), B is N x K (ldb, e.g. a weight matrix stored
/// [out, in]), C is M x N (ldc). Meant for small M (decoding batches): B is streamed once, with no
/// packing. beta == 0 overwrites C. Requires rlhf_small_gemm_available().
void rlhf_small_gemm_nt(int M, int n0, int n1, int K, float alpha, const float *A, int lda,
                        const float *B, int ldb, float beta, float *C, int ldc);

#endif
