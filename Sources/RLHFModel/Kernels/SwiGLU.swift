import CRLHFKernels
import RLHFTensor

/// The SwiGLU gate of the Llama MLP: a = silu(g) ⊙ u with silu(g) = g · σ(g).
///
/// Shapes: gu [N, 2F] (gate in columns 0..<F, up in F..<2F); a [N, F].
public enum SwiGLU {
    /// a = silu(g) ⊙ u, with the AVX2/FMA kernel (`rlhf_swiglu_forward`, the same exp polynomial)
    /// where ``CPUFeatures/avx2FMA`` holds, else the Swift code below (whose SIMD8 runs as SSE on
    /// baseline x86-64). `simd: false` forces the Swift code.
    public static func forward(
        gateUp gu: UnsafePointer<Float>, output a: UnsafeMutablePointer<Float>, rows N: Int, width F: Int, simd: Bool = true
    ) {
        nonisolated(unsafe) let gu = gu, a = a
        let useKernel = simd && CPUFeatures.avx2FMA
        Parallel.forEachChunk(count: N, minimumChunk: 8) { range in
            if useKernel {
                rlhf_swiglu_forward(gu + range.lowerBound * 2 * F, a + range.lowerBound * F, Int32(range.count), Int32(F))
                return
            }
            for n in range {
                let g = gu + n * 2 * F, u = g + F, out = a + n * F
                var i = 0
                while i + 8 <= F {
                    let gv = UnsafeRawPointer(g + i).loadUnaligned(as: SIMD8<Float>.self)
                    let uv = UnsafeRawPointer(u + i).loadUnaligned(as: SIMD8<Float>.self)
                    let sigma = 1 / (1 + VectorMath.exp(-gv))
                    UnsafeMutableRawPointer(out + i).storeBytes(of: gv * sigma * uv, as: SIMD8<Float>.self)
                    i += 8
                }
                while i < F {
                    let sigma = 1 / (1 + VectorMath.exp(-g[i]))
                    out[i] = g[i] * sigma * u[i]
                    i += 1
                }
            }
        }
    }

    /// Writes dgu from da: dg = da · u · σ(g)(1 + g(1 − σ(g))), du = da · silu(g). Overwrites dgu.
    public static func backward(
        outputGradient da: UnsafePointer<Float>, gateUp gu: UnsafePointer<Float>,
        gateUpGradient dgu: UnsafeMutablePointer<Float>, rows N: Int, width F: Int
    ) {
        nonisolated(unsafe) let gu = gu, da = da, dgu = dgu
        Parallel.forEachChunk(count: N, minimumChunk: 8) { range in
            for n in range {
                let g = gu + n * 2 * F, u = g + F, d = da + n * F
                let dg = dgu + n * 2 * F, du = dg + F
                var i = 0
                while i + 8 <= F {
                    let gv = UnsafeRawPointer(g + i).loadUnaligned(as: SIMD8<Float>.self)
                    let uv = UnsafeRawPointer(u + i).loadUnaligned(as: SIMD8<Float>.self)
                    let dv = UnsafeRawPointer(d + i).loadUnaligned(as: SIMD8<Float>.self)
                    let sigma = 1 / (1 + VectorMath.exp(-gv))
                    let dgv = dv * uv * sigma * (1 + gv * (1 - sigma))
                    UnsafeMutableRawPointer(dg + i).storeBytes(of: dgv, as: SIMD8<Float>.self)
                    UnsafeMutableRawPointer(du + i).storeBytes(of: dv * gv * sigma, as: SIMD8<Float>.self)
                    i += 8
                }
                while i < F {
                    let sigma = 1 / (1 + VectorMath.exp(-g[i]))
                    dg[i] = d[i] * u[i] * sigma * (1 + g[i] * (1 - sigma))
                    du[i] = d[i] * g[i] * sigma
                    i += 1
                }
            }
        }
    }
}
