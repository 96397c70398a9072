import Foundation
import H5ToLiteCore
import H5ToLiteIR
import H5ToLitePasses

/// What happens around each pass of a conversion, as in LLVM's `-print-after-all`: dumps
/// and printing are instrumentation of the pass manager, never code inside passes.
public struct Instrumentation {
    /// Folder of `--dump-after` files and of the last good IR when a pass fails.
    public var directory: String
    /// Passes after which the IR is written (`NN-pass.txt`, `.dot`, `.svg` with Graphviz).
    public var dumpAfter: Set<String>
    public var printAfterAll: Bool
    public var printAfterChange: Bool
    /// Where printed IR goes (stderr in the tool).
    public var print: (String) -> Void

    /// `dumpAfter` holds pass names, or "all".
    public init(directory: String, dumpAfter: Set<String> = [], printAfterAll: Bool = false, printAfterChange: Bool = false,
                print: @escaping (String) -> Void) throws {
        for name in dumpAfter where name != "all" && pass(named: name) == nil {
            throw H5ToLiteError("--dump-after: no pass named '\(name)' (see `h5tolite passes`)")
        }
        self.directory = directory
        self.dumpAfter = dumpAfter.contains("all") ? Set(passRegistry.map(\.name)) : dumpAfter
        self.printAfterAll = printAfterAll
        self.printAfterChange = printAfterChange
        self.print = print
    }

    /// The graph as imported, `00-import`, when any dump is asked for.
    func start(_ imported: Graph) throws {
        guard !dumpAfter.isEmpty else { return }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try dump(imported, name: "00-import")
    }

    func observe(_ event: PassEvent) throws {
        if printAfterAll || (printAfterChange && event.changed) {
            print("// after \(event.pass.name)\n\(printGraph(event.after))")
        }
        if dumpAfter.contains(event.pass.name) {
            try dump(event.after, name: String(format: "%02d-%@", event.index + 1, event.pass.name))
        }
    }

    /// Writes the last graph that verified as `failed-before-PASS`; returns the folder, or
    /// nil if it could not be written.
    func saveFailure(_ failure: PassFailure) -> String? {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            try dump(failure.lastGood, name: "failed-before-\(failure.pass)")
            return directory
        } catch {
            return nil
        }
    }

    /// `name.txt` (text IR) and `name.dot`, plus `name.svg` when Graphviz's `dot` is installed.
    private func dump(_ graph: Graph, name: String) throws {
        let base = joined(directory, name)
        try writeAtomically(Array(printGraph(graph).utf8), to: base + ".txt")
        try writeAtomically(Array(dotGraph(graph).utf8), to: base + ".dot")
        renderSVG(dot: base + ".dot", svg: base + ".svg")
    }
}
