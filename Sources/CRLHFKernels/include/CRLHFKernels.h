// The C kernels of swift-rlhf, one header each. The AVX2/FMA kernels are compiled for those
// instructions only (the library itself targets baseline x86-64) and may be called only where
// rlhf_cpu_has_avx2_fma() is 1; Swift reads that once, as `CPUFeatures.avx2FMA` in RLHFTensor,
// and every kernel's Swift front falls back to its Swift twin elsewhere.
#ifndef CRLHF_KERNELS_H
#define CRLHF_KERNELS_H

#include "CPUFeatures.h"
#include "DecodeAttention.h"
#include "QuantizedGEMM.h"
#include "SmallGEMM.h"
#include "SpinWait.h"
#include "SwiGLU.h"

#endif
