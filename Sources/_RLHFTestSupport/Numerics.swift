import RLHFTensor

/// ‖a − b‖ / ‖b‖ in Double (0 when both are zero).
public func relativeError(_ a: [Float], _ b: [Float]) -> Double {
    precondition(a.count == b.count, "relativeError: \(a.count) vs \(b.count) elements")
    var difference = 0.0, norm = 0.0
    for i in a.indices {
        let d = Double(a[i]) - Double(b[i])
        difference += d * d
        norm += Double(b[i]) * Double(b[i])
    }
    if norm == 0 { return difference.squareRoot() }
    return (difference / norm).squareRoot()
}

/// max |a − b|.
public func maximumAbsoluteDifference(_ a: [Float], _ b: [Float]) -> Float {
    precondition(a.count == b.count, "maximumAbsoluteDifference: \(a.count) vs \(b.count) elements")
    var result: Float = 0
    for i in a.indices { result = max(result, abs(a[i] - b[i])) }
    return result
}

/// Random values for tests.
public func randomFloats(_ count: Int, seed: UInt64, scale: Float = 1) -> [Float] {
    var generator = SeededGenerator(seed: seed)
    return (0..<count).map { _ in scale * generator.nextGaussian() }
}

/// Central finite differences of a scalar function of float32 buffers.
public enum FiniteDifference {
    /// (f(x + εu) − f(x − εu)) / 2ε, perturbing `count` floats at `x` along `direction` and
    /// restoring them afterwards.
    public static func directionalDerivative(
        at x: UnsafeMutablePointer<Float>, direction: [Float], step epsilon: Float, of f: () throws -> Double
    ) rethrows -> Double {
        let saved = Array(UnsafeBufferPointer(start: x, count: direction.count))
        defer { x.update(from: saved, count: saved.count) }
        for i in direction.indices { x[i] = saved[i] + epsilon * direction[i] }
        let plus = try f()
        for i in direction.indices { x[i] = saved[i] - epsilon * direction[i] }
        let minus = try f()
        return (plus - minus) / (2 * Double(epsilon))
    }

    /// Σ gradient[i]·direction[i] in Double: the analytic directional derivative.
    public static func dot(_ gradient: UnsafePointer<Float>, _ direction: [Float]) -> Double {
        var sum = 0.0
        for i in direction.indices { sum += Double(gradient[i]) * Double(direction[i]) }
        return sum
    }
}
