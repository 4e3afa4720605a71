#ifndef CRLHF_DECODE_ATTENTION_H
#define CRLHF_DECODE_ATTENTION_H

/// Attention of G query heads sharing one key/value head over `count` cached positions:
/// out[g] = softmax(scale · q[g] · keysᵀ) · values, with q rows `qStride` apart, keys and values
/// [count, HS] contiguous, out rows `outStride` apart (overwritten), `scores` scratch of G·count.
/// HS must be a multiple of 8. Requires rlhf_cpu_has_avx2_fma(). Swift front and fallback:
/// `DecodeAttention` (RLHFModel/Kernels/DecodeAttention.swift).
void rlhf_attention_decode(int G, int HS, int count, float scale, const float *q, int qStride,
                           const float *keys, const float *values, float *scores, float *out, int outStride);

#endif
