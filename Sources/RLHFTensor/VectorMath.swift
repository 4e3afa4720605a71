/// Vectorised float32 math used by the kernels: `exp`, dot products, scaled adds, reductions.
///
/// `exp` is a Cephes-style range reduction (x = n·ln2 + r, |r| ≤ ln2/2) with a degree-6 polynomial,
/// accurate to about 2 ulp over the whole float range; inputs below −87.3 flush to 0.
public enum VectorMath {
    @usableFromInline static let log2e: Float = 1.44269504088896341
    @usableFromInline static let ln2High: Float = 0.693359375
    @usableFromInline static let ln2Low: Float = -2.12194440e-4

    /// e^x lane-wise.
    ///
    /// Written with mask blends and bit casts only: the generic SIMD `rounded`, `clamped` and
    /// float→int conversions do not vectorise and cost more than the polynomial.
    @inlinable @inline(__always)
    public static func exp(_ x: SIMD8<Float>) -> SIMD8<Float> {
        var v = x
        v.replace(with: 88.37626, where: v .> 88.37626)
        v.replace(with: -87.33654, where: v .< -87.33654)
        // Round x·log2(e) to the nearest integer n by adding and subtracting 1.5·2²³.
        let magic = SIMD8<Float>(repeating: 12_582_912)
        let shifted = v * log2e + magic
        let n = shifted - magic
        var r = v - n * ln2High
        r = r - n * ln2Low
        var p = SIMD8<Float>(repeating: 1.9875691500e-4)
        p = p * r + 1.3981999507e-3
        p = p * r + 8.3334519073e-3
        p = p * r + 4.1665795894e-2
        p = p * r + 1.6666665459e-1
        p = p * r + 5.0000001201e-1
        let r2 = r * r
        p = p * r2 + r + 1
        // The low mantissa bits of `shifted` hold n; build 2ⁿ from them.
        let integer = unsafeBitCast(shifted, to: SIMD8<Int32>.self) &- 0x4B40_0000
        let scale = unsafeBitCast((integer &+ 127) &<< 23, to: SIMD8<Float>.self)
        var result = p * scale
        // exp of very negative inputs underflows to exactly zero.
        result.replace(with: 0, where: x .< -87.33654)
        return result
    }

    /// e^x for one value, same algorithm as the SIMD version (so scalar tails agree with vector bodies).
    @inlinable @inline(__always)
    public static func exp(_ x: Float) -> Float {
        exp(SIMD8<Float>(repeating: x))[0]
    }

    /// Σ a[i]·b[i] over `count` elements.
    @inlinable
    public static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
        var acc0 = SIMD8<Float>(), acc1 = SIMD8<Float>()
        var i = 0
        let ra = UnsafeRawPointer(a), rb = UnsafeRawPointer(b)
        while i + 16 <= count {
            acc0 += ra.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
                * rb.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
            acc1 += ra.loadUnaligned(fromByteOffset: i * 4 + 32, as: SIMD8<Float>.self)
                * rb.loadUnaligned(fromByteOffset: i * 4 + 32, as: SIMD8<Float>.self)
            i += 16
        }
        while i + 8 <= count {
            acc0 += ra.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
                * rb.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
            i += 8
        }
        var sum = (acc0 + acc1).sum()
        while i < count {
            sum += a[i] * b[i]
            i += 1
        }
        return sum
    }

    /// y[i] += alpha·x[i] over `count` elements.
    @inlinable
    public static func addScaled(
        _ x: UnsafePointer<Float>, scale alpha: Float, to y: UnsafeMutablePointer<Float>, count: Int
    ) {
        var i = 0
        let rx = UnsafeRawPointer(x), ry = UnsafeMutableRawPointer(y)
        while i + 8 <= count {
            let v = ry.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
                + alpha * rx.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
            ry.storeBytes(of: v, toByteOffset: i * 4, as: SIMD8<Float>.self)
            i += 8
        }
        while i < count {
            y[i] += alpha * x[i]
            i += 1
        }
    }

    /// Largest element of x[0..<count] (count > 0).
    @inlinable
    public static func maximum(_ x: UnsafePointer<Float>, count: Int) -> Float {
        var best = SIMD8<Float>(repeating: -.infinity)
        var i = 0
        let rx = UnsafeRawPointer(x)
        while i + 8 <= count {
            let value = rx.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
            best.replace(with: value, where: value .> best)
            i += 8
        }
        var result = best[0]
        for lane in 1..<8 { result = Swift.max(result, best[lane]) }
        while i < count {
            result = Swift.max(result, x[i])
            i += 1
        }
        return result
    }

    /// Writes e^(x[i] − shift) to `output` (may alias `x`) and returns their sum (accumulated in Float).
    @inlinable
    public static func expShifted(
        _ x: UnsafePointer<Float>, shift: Float, into output: UnsafeMutablePointer<Float>, count: Int
    ) -> Float {
        var acc = SIMD8<Float>()
        var i = 0
        let rx = UnsafeRawPointer(x), ro = UnsafeMutableRawPointer(output)
        let s = SIMD8<Float>(repeating: shift)
        while i + 8 <= count {
            let e = exp(rx.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self) - s)
            ro.storeBytes(of: e, toByteOffset: i * 4, as: SIMD8<Float>.self)
            acc += e
            i += 8
        }
        var sum = acc.sum()
        while i < count {
            let e = exp(x[i] - shift)
            output[i] = e
            sum += e
            i += 1
        }
        return sum
    }

    /// log Σ e^x[i] over `count` > 0 elements, without writing anything.
    @inlinable
    public static func logSumExp(_ x: UnsafePointer<Float>, count: Int) -> Float {
        let m = maximum(x, count: count)
        if m == -.infinity { return -.infinity }
        var acc = SIMD8<Float>()
        var i = 0
        let rx = UnsafeRawPointer(x)
        let s = SIMD8<Float>(repeating: m)
        while i + 8 <= count {
            acc += exp(rx.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self) - s)
            i += 8
        }
        var sum = acc.sum()
        while i < count {
            sum += exp(x[i] - m)
            i += 1
        }
        return m + naturalLog(sum)
    }

    /// Natural logarithm (libm).
    @inlinable @inline(__always)
    public static func naturalLog(_ x: Float) -> Float { Float(_math_log(Double(x))) }
}

#if canImport(Glibc)
import Glibc
@inlinable @inline(__always) func _math_log(_ x: Double) -> Double { Glibc.log(x) }
#elseif canImport(Darwin)
import Darwin
@inlinable @inline(__always) func _math_log(_ x: Double) -> Double { Darwin.log(x) }
#endif
