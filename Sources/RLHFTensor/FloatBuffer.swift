/// A fixed-size, 64-byte-aligned, zero-initialised block of `Float`s with reference semantics.
///
/// Hot loops use ``pointer`` directly: no copy-on-write, no bounds checks, no allocation. Parameters,
/// gradients, optimizer moments and activations each live in one `FloatBuffer` addressed through a
/// layout table (see `ParameterLayout` in RLHFModel).
public final class FloatBuffer: @unchecked Sendable {
    /// Start of the storage. Valid for the lifetime of the buffer.
    public let pointer: UnsafeMutablePointer<Float>
    /// Number of floats.
    public let count: Int

    /// Allocates `count` floats set to zero.
    public convenience init(count: Int) {
        self.init(uninitializedCount: count)
        pointer.initialize(repeating: 0, count: count)
    }

    /// Allocates `count` floats without setting them: for scratch that every use writes before
    /// it reads (activations). Nothing touches the memory here, so pages a pass never reaches
    /// cost neither time nor resident memory, and the first writes fault them in on the threads
    /// doing the work instead of in one serial memset.
    public init(uninitializedCount count: Int) {
        precondition(count >= 0, "FloatBuffer count must be non-negative")
        self.count = count
        let raw = UnsafeMutableRawPointer.allocate(
            byteCount: max(1, count) * MemoryLayout<Float>.stride, alignment: 64)
        pointer = raw.bindMemory(to: Float.self, capacity: max(1, count))
    }

    /// Allocates a buffer holding a copy of `values`.
    public convenience init(_ values: [Float]) {
        self.init(count: values.count)
        values.withUnsafeBufferPointer { source in
            if let base = source.baseAddress { pointer.update(from: base, count: values.count) }
        }
    }

    /// A copy of `other`'s values.
    public convenience init(copying other: FloatBuffer) {
        self.init(count: other.count)
        pointer.update(from: other.pointer, count: count)
    }

    deinit { pointer.deallocate() }

    /// A buffer-pointer view of the whole storage.
    @inlinable public var buffer: UnsafeMutableBufferPointer<Float> {
        UnsafeMutableBufferPointer(start: pointer, count: count)
    }

    /// A copy of the contents as an array (for tests and I/O, not hot paths).
    public var array: [Float] { Array(buffer) }

    /// Sets every element to zero.
    public func zero() { pointer.update(repeating: 0, count: count) }

    /// Subscript access with a bounds check (for tests and setup code, not hot loops).
    public subscript(index: Int) -> Float {
        get {
            precondition(index >= 0 && index < count, "FloatBuffer index out of range")
            return pointer[index]
        }
        set {
            precondition(index >= 0 && index < count, "FloatBuffer index out of range")
            pointer[index] = newValue
        }
    }
}
