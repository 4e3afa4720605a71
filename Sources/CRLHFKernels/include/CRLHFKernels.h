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

#ifndef CRLHF_ATTENTION_DECODE
#define CRLHF_ATTENTION_DECODE
/// Attention of G query heads sharing one key/value head over `count` cached positions:
/// out[g] = softmax(scale · q[g] · keysᵀ) · values, with q rows `qStride` apart, keys and values
/// [count, HS] contiguous, out rows `outStride` apart (overwritten), `scores` scratch of G·count.
/// HS must be a multiple of 8. Requires rlhf_small_gemm_available().
void rlhf_attention_decode(int G, int HS, int count, float scale, const float *q, int qStride,
                           const float *keys, const float *values, float *scores, float *out, int outStride);
#endif

#ifndef CRLHF_SWIGLU
#define CRLHF_SWIGLU
/// out[n, i] = silu(g) * u for g = gateUp[n, i], u = gateUp[n, F + i] (rows of 2F in, F out).
/// Requires rlhf_small_gemm_available().
void rlhf_swiglu_forward(const float *gateUp, float *out, int rows, int F);
#endif

#ifndef CRLHF_CPU_RELAX
#define CRLHF_CPU_RELAX
/// A spin-wait hint (x86 `pause`, ARM `yield`): lets the core idle briefly while a thread polls.
static inline void rlhf_cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__) || defined(__arm__)
    __asm__ __volatile__("yield");
#endif
}
#endif
