/// Helpers for the token-level losses' ragged arrays (one inner array per response).
enum Ragged {
    /// The tokens of every response, in order.
    static func flatten(_ x: [[Double]]) -> [Double] {
        x.flatMap { $0 }
    }

    /// `flat` cut into the shape of `shape`.
    static func unflatten(_ flat: [Double], like shape: [[Double]]) -> [[Double]] {
        var offset = 0
        return shape.map { response in
            defer { offset += response.count }
            return Array(flat[offset..<(offset + response.count)])
        }
    }

    /// x + y element by element.
    static func add(_ x: [[Double]], _ y: [[Double]]) -> [[Double]] {
        zip(x, y).map { zip($0, $1).map { $0 + $1 } }
    }

    /// Central finite differences of `f` at `x`, one per token, in the shape of `x`.
    static func numericGradient(at x: [[Double]], step h: Double = 1e-6, of f: ([[Double]]) -> Double) -> [[Double]] {
        let flat = flatten(x)
        let partials = flat.indices.map { k in
            DoubleFiniteDifference.partial(at: flat, index: k, step: h) { f(unflatten($0, like: x)) }
        }
        return unflatten(partials, like: x)
    }
}
