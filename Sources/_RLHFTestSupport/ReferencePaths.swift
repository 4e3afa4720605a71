#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Locations of the shared reference data (`../shared/reference` next to the package root).
public enum ReferencePaths {
    /// The package root, found from this file's path.
    public static let packageRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    /// `../shared/reference`, or `RLHF_REFERENCE_DIR` when set.
    public static let reference: String = {
        if let override = ProcessInfo.processInfo.environment["RLHF_REFERENCE_DIR"] { return override }
        return URL(fileURLWithPath: packageRoot).deletingLastPathComponent()
            .appendingPathComponent("shared/reference").path
    }()

    /// `../shared/reference/tiny-llama`.
    public static var tinyLlama: String { reference + "/tiny-llama" }

    /// SmolLM2-135M-Instruct (Q4_1 GGUF) as fetched by `scripts/fetch-smollm2.sh`:
    /// `$RLHF_SMOLLM2_GGUF`, else `$RLHF_CACHE_DIR` or `~/.cache/swift-rlhf`.
    public static var smolLM2GGUF: String {
        let environment = ProcessInfo.processInfo.environment
        if let path = environment["RLHF_SMOLLM2_GGUF"] { return path }
        let cache = environment["RLHF_CACHE_DIR"] ?? (environment["HOME"] ?? "/root") + "/.cache/swift-rlhf"
        return cache + "/SmolLM2-135M-Instruct.Q4_1.gguf"
    }
}
