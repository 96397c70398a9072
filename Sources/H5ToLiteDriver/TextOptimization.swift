import Foundation
import H5ToLiteCore
import H5ToLiteIR
import H5ToLitePasses

/// `h5tolite opt`: parses text IR, runs the named passes in one pipeline, and prints the
/// result with every constant in full (so that it parses back). Pass options come from the
/// text's `# options:` line, then `options` (later words win).
public func optimizeText(_ text: String, passes names: [String], options: String? = nil, file: String) throws -> String {
    do {
        let graph = try parseGraph(text)
        try verify(graph)
        let passes = try names.map { name in
            guard let found = pass(named: name.trimmingCharacters(in: .whitespaces)) else {
                throw H5ToLiteError("no pass named '\(name)' (see `h5tolite passes`)")
            }
            return found
        }
        let words = optionsLine(in: text) + " " + (options ?? "")
        let context = PassContext(options: try PipelineOptions(words: words, graph: graph))
        return printGraph(try runPipeline(graph, passes: passes, context: context), fullConstants: true)
    } catch {
        throw H5ToLiteError(file: file, "\(error)")
    }
}

/// The words of the text's `# options:` line, or nothing.
func optionsLine(in text: String) -> String {
    let prefix = "# options:"
    return text.split(separator: "\n").first { $0.hasPrefix(prefix) }.map { String($0.dropFirst(prefix.count)) } ?? ""
}
