import H5ToLiteCore
import H5ToLiteIR
import H5ToLiteInterpreter

/// Runs a graph op by op over a whole batch of samples, keeping each value only until its
/// last reader. Between steps the caller may read an op's inputs and change the graph's
/// constants, so passes that measure activations (BatchNorm re-estimation, pruning refit)
/// see the effect of every change made before them.
struct StagedRunner {
    var graph: Graph
    private var live: [ValueID: Tensor]
    private let lastUse: [ValueID: Int]

    /// `samples`: one tensor per graph input, batch first.
    init(graph: Graph, samples: [Tensor]) {
        self.graph = graph
        live = Dictionary(zip(graph.inputs, samples), uniquingKeysWith: { first, _ in first })
        var lastUse: [ValueID: Int] = [:]
        for (index, op) in graph.ops.enumerated() {
            for input in op.inputs { lastUse[input] = index }
        }
        self.lastUse = lastUse
    }

    /// The values op `index` reads that are not constants, for all samples.
    func activations(of index: Int) throws -> [Tensor] {
        let op = graph.ops[index]
        return try op.inputs.filter { !graph.isConstant($0) }.map { id in
            guard let value = live[id] else {
                throw H5ToLiteError("op \(op.kind.name) from \(op.origin) reads a value the staged run does not have")
            }
            return value
        }
    }

    func firstInput(of index: Int) throws -> Tensor {
        guard let first = try activations(of: index).first else {
            throw H5ToLiteError("op \(graph.ops[index].kind.name) from \(graph.ops[index].origin) has no activation input")
        }
        return first
    }

    /// Runs op `index` (ops must be stepped in order) and drops values no later op reads.
    mutating func step(_ index: Int) throws {
        let op = graph.ops[index]
        let ids = op.inputs.filter { !graph.isConstant($0) }
        var single = graph
        single.ops = [op]
        single.inputs = ids
        single.outputs = op.outputs
        live[op.outputs[0]] = try Interpreter(graph: single).run(try activations(of: index))[0]
        for id in ids where lastUse[id] == index && !graph.outputs.contains(id) { live[id] = nil }
    }
}
