import ArgumentParser
import Foundation
import RLHF
import Yams

/// Reads an experiment configuration file: JSON, or YAML by its extension (`.yaml`, `.yml`).
enum ExperimentFile {
    static func load(_ path: String) throws -> ExperimentConfiguration {
        guard let data = FileManager.default.contents(atPath: path) else { throw ValidationError("cannot read \(path)") }
        let document: Any
        let lowered = path.lowercased()
        if lowered.hasSuffix(".yaml") || lowered.hasSuffix(".yml") {
            do {
                guard let loaded = try Yams.load(yaml: String(decoding: data, as: UTF8.self)) else { return ExperimentConfiguration() }
                document = loaded
            } catch {
                throw ValidationError("\(path): not valid YAML: \(error)")
            }
        } else {
            do { document = try JSONSerialization.jsonObject(with: data) } catch {
                throw ValidationError("\(path): not valid JSON: \(error.localizedDescription)")
            }
        }
        do { return try ExperimentConfiguration.decode(document: document, file: path) } catch let error as ExperimentError {
            throw ValidationError(error.description)
        }
    }
}
