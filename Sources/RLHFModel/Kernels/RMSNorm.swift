import RLHFTensor

/// Root-mean-square normalisation: y = x · rstd · w with rstd = 1 / √(mean(x²) + ε).
///
/// Shapes: x, y [N, C]; w [C]; rstd [N] (saved for backward).
public enum RMSNorm {
    /// y = x · rstd · w, row by row; stores rstd per row.
    public static func forward(
        input x: UnsafePointer<Float>, weight w: UnsafePointer<Float>,
        output y: UnsafeMutablePointer<Float>, reciprocalRMS rstd: UnsafeMutablePointer<Float>,
        rows N: Int, width C: Int, epsilon: Float
    ) {
        nonisolated(unsafe) let x = x, w = w, y = y, rstd = rstd
        Parallel.forEachChunk(count: N, minimumChunk: 16) { range in
            for n in range {
                let xr = x + n * C, yr = y + n * C
                let meanSquare = VectorMath.dot(xr, xr, count: C) / Float(C)
                let r = 1 / (meanSquare + epsilon).squareRoot()
                rstd[n] = r
                for i in 0..<C { yr[i] = xr[i] * r * w[i] }
            }
        }
    }

    /// Accumulates dx += ∂L/∂x and, when `weightGradient` is given, dw += ∂L/∂w.
    ///
    /// In the forward pass y_i = w_i · x_i · r with r = (mean x² + ε)^(-1/2), so
    /// dx_i = r · w_i · dy_i − r³/C · x_i · Σ_j w_j · dy_j · x_j and dw_i = Σ_rows dy_i · x_i · r.
    public static func backward(
        outputGradient dy: UnsafePointer<Float>, input x: UnsafePointer<Float>,
        weight w: UnsafePointer<Float>, reciprocalRMS rstd: UnsafePointer<Float>,
        inputGradient dx: UnsafeMutablePointer<Float>?, weightGradient dw: UnsafeMutablePointer<Float>?,
        rows N: Int, width C: Int
    ) {
        nonisolated(unsafe) let x = x, w = w, dy = dy, rstd = rstd, dx = dx
        if let dx {
            nonisolated(unsafe) let dx = dx
            Parallel.forEachChunk(count: N, minimumChunk: 16) { range in
                for n in range {
                    let xr = x + n * C, dyr = dy + n * C, dxr = dx + n * C
                    let r = rstd[n]
                    var projection: Float = 0
                    for i in 0..<C { projection += w[i] * dyr[i] * xr[i] }
                    let k = r * r * r * projection / Float(C)
                    for i in 0..<C { dxr[i] += r * w[i] * dyr[i] - k * xr[i] }
                }
            }
        }
        if let dw {
            for n in 0..<N {
                let xr = x + n * C, dyr = dy + n * C
                let r = rstd[n]
                for i in 0..<C { dw[i] += dyr[i] * xr[i] * r }
            }
        }
    }
}
