/// Token embedding lookup. Shapes: tokens [N]; table [V, C]; output [N, C].
public enum Embedding {
    /// output[n] = table[tokens[n]].
    public static func forward(
        tokens: UnsafePointer<Int32>, table: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>,
        rows N: Int, width C: Int
    ) {
        for n in 0..<N {
            (output + n * C).update(from: table + Int(tokens[n]) * C, count: C)
        }
    }

    /// dtable[tokens[n]] += dout[n] (sequential: repeated tokens accumulate). Rows whose token is
    /// `skippedToken` (the padding id, as PyTorch's `padding_idx`) get no gradient.
    public static func backward(
        tokens: UnsafePointer<Int32>, outputGradient dout: UnsafePointer<Float>,
        tableGradient dtable: UnsafeMutablePointer<Float>, rows N: Int, width C: Int, skippedToken: Int? = nil
    ) {
        for n in 0..<N where Int(tokens[n]) != skippedToken {
            let row = dtable + Int(tokens[n]) * C, d = dout + n * C
            for i in 0..<C { row[i] += d[i] }
        }
    }
}
