import ArgumentParser
import Foundation
import H5ToLiteCore
import H5ToLiteDriver
import H5ToLiteIR
import H5ToLitePasses

struct Opt: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run passes on a text IR file (as `convert --stop-after` or `--dump-after` writes it).",
        discussion: """
        Options the passes read come from --options and, where the file has one, its \
        `# options:` line (the golden pass cases carry theirs there), e.g. \
        --options "prune=0.5 calibration=normal:16 quantize=int8 io=int8 keep-float=dense".
        """)

    @Argument(help: "The text IR file.")
    var input: String

    @Option(name: .customLong("pass"), help: "Passes to run, in order (names, comma separated; see `h5tolite passes`).")
    var passes: String

    @Option(help: "Pass options as key=value words (see above).")
    var options: String?

    @Option(name: .shortAndLong, help: "Where to write the resulting IR.")
    var output: String

    func run() throws {
        let text: String
        do {
            text = try String(contentsOfFile: input, encoding: .utf8)
        } catch {
            throw H5ToLiteError(file: input, "cannot read (\(error.localizedDescription))")
        }
        let result = try optimizeText(text, passes: passes.split(separator: ",").map(String.init), options: options, file: input)
        try writeAtomically(Array(result.utf8), to: output)
    }
}
