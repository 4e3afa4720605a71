#ifndef CRLHF_SWIGLU_H
#define CRLHF_SWIGLU_H

/// out[n, i] = silu(g) * u for g = gateUp[n, i], u = gateUp[n, F + i] (rows of 2F in, F out).
/// Requires rlhf_cpu_has_avx2_fma(). Swift front and fallback: `SwiGLU.forward`
/// (RLHFModel/Kernels/SwiGLU.swift).
void rlhf_swiglu_forward(const float *gateUp, float *out, int rows, int F);

#endif
