import COpenBLAS
import Foundation
import H5ToLiteIR

public struct InterpreterError: Error, CustomStringConvertible {
    public var description: String

    public init(_ description: String) {
        self.description = description
    }
}

/// Runs a graph on float32 inputs. The graph is built for its own batch size
/// (1 for models read from .tflite files); `run` takes any number of samples
/// along the first axis and runs them one graph batch at a time.
///
/// Building the interpreter checks every op, fixes the kernels' loop bounds and
/// plans one memory arena in which each activation lives only from the op that
/// writes it to the last op that reads it.
public struct Interpreter: Sendable {
    public let graph: Graph
    private let program: Program

    public init(graph: Graph, threads: Int = ProcessInfo.processInfo.activeProcessorCount) throws {
        guard threads >= 1 else { throw InterpreterError("the thread count must be at least 1, got \(threads)") }
        try checkOps(graph)
        do {
            try verify(graph)
        } catch let error as ShapeError {
            throw InterpreterError("invalid graph: \(error.description)")
        }
        // Workers split the matrix products themselves; OpenBLAS threads would compete with them.
        openblas_set_num_threads(1)
        self.graph = graph
        program = try Program(graph: graph, threads: threads)
    }

    /// Runs every sample of `inputs` (one tensor per graph input, samples along
    /// the first axis) and returns one tensor per graph output, samples likewise.
    public func run(_ inputs: [Tensor]) throws -> [Tensor] {
        let batches = try batchCount(inputs)
        let results = program.run(inputs.map(\.data), batches: batches)
        return zip(graph.outputs, results).map { id, data in
            let shape = graph[id].shape
            return Tensor(shape: [batches * (shape.first ?? 1)] + shape.dropFirst(), data: data)
        }
    }

    /// How many graph batches the inputs hold, after checking their shapes.
    private func batchCount(_ inputs: [Tensor]) throws -> Int {
        guard inputs.count == graph.inputs.count else {
            throw InterpreterError("the model takes \(graph.inputs.count) inputs, got \(inputs.count)")
        }
        var batches: Int?
        for (tensor, id) in zip(inputs, graph.inputs) {
            let expected = graph[id].shape
            guard let batch = expected.first, tensor.shape.count == expected.count,
                  tensor.shape.dropFirst() == expected.dropFirst(), tensor.shape[0] % batch == 0 else {
                let needed = (["N"] + expected.dropFirst().map(String.init)).joined(separator: ",")
                throw InterpreterError("input '\(graph[id].name)' has shape \(tensor.shape), the model needs [\(needed)]")
            }
            let count = tensor.shape[0] / batch
            guard batches == nil || batches == count else {
                throw InterpreterError("the inputs hold different numbers of samples")
            }
            batches = count
        }
        return batches ?? 1
    }
}

/// What `verify` and the kernels take for granted: the number of operands, and
/// windows and strides that move forward.
private func checkOps(_ graph: Graph) throws {
    for op in graph.ops {
        let allowed: ClosedRange<Int>
        switch op.kind {
        case .conv2d, .depthwiseConv2d, .fullyConnected: allowed = 2...3
        case .binary, .prelu, .greater: allowed = 2...2
        case .select: allowed = 3...3
        case .concat: allowed = 1...Int.max
        default: allowed = 1...1
        }
        guard allowed.contains(op.inputs.count), op.outputs.count == 1 else {
            throw InterpreterError("op \(op.kind.name) from \(op.origin) has \(op.inputs.count) inputs and \(op.outputs.count) outputs")
        }
        for id in op.inputs + op.outputs where id < 0 || id >= graph.values.count {
            throw InterpreterError("op \(op.kind.name) from \(op.origin) refers to %\(id), which does not exist")
        }
        guard stepsForward(op.kind) else {
            throw InterpreterError("op \(op.kind.name) from \(op.origin) has a window or stride that is not positive")
        }
    }
    for id in graph.inputs + graph.outputs where id < 0 || id >= graph.values.count {
        throw InterpreterError("graph input or output %\(id) does not exist")
    }
}

private func stepsForward(_ kind: OpKind) -> Bool {
    switch kind {
    case .conv2d(let window, _), .depthwiseConv2d(let window, _, _), .maxPool(let window, _), .averagePool(let window, _):
        return (window.size + window.stride + window.dilation).allSatisfy { $0 > 0 }
            && window.size.count == 2 && window.stride.count == 2 && window.dilation.count == 2
    case .stridedSlice(_, _, let strides):
        return strides.allSatisfy { $0 > 0 }
    case .resize(_, let size, _, _):
        return size.count == 2
    default:
        return true
    }
}

/// The compiled form of a graph: kernels in order, constants, and the arena
/// holding every activation. Runs are serialised because they share the arena.
private final class Program: @unchecked Sendable {
    enum Location {
        case arena(Int)
        case constant(Int)
    }

    struct Step {
        let kernel: any Kernel
        let inputs: [Location]
        let output: Int
        let scratch: Int
    }

    private var steps: [Step] = []
    private var constants: [UnsafeMutableBufferPointer<Float>] = []
    private var arena: UnsafeMutablePointer<Float>
    private var inputs: [(offset: Int, count: Int)] = []
    private var outputs: [(location: Location, count: Int)] = []
    private let lock = NSLock()

    init(graph: Graph, threads: Int) throws {
        arena = .allocate(capacity: 1)
        let tasks = try schedule(graph, threads: threads)
        let locations = try placeConstants(graph, tasks: tasks)
        try placeActivations(graph, tasks: tasks, constants: locations)
    }

    deinit {
        arena.deallocate()
        constants.forEach { $0.deallocate() }
    }

    /// Copies the float constants the kernels read into buffers of their own.
    private func placeConstants(_ graph: Graph, tasks: [Task]) throws -> [ValueID: Location] {
        var locations: [ValueID: Location] = [:]
        for id in tasks.flatMap(\.inputs) + graph.outputs where locations[id] == nil {
            guard let constant = graph[id].constant else { continue }
            guard let data = constant.floats else {
                throw InterpreterError("constant '\(graph[id].name)' is \(constant.dtype), the interpreter computes in float32")
            }
            let buffer = UnsafeMutableBufferPointer<Float>.allocate(capacity: max(data.count, 1))
            _ = buffer.initialize(from: data)
            locations[id] = .constant(constants.count)
            constants.append(buffer)
        }
        return locations
    }

    /// Plans the arena: each task's output (and scratch) lives from its step to
    /// the last step that reads it; graph inputs live from the start, outputs to the end.
    private func placeActivations(_ graph: Graph, tasks: [Task], constants: [ValueID: Location]) throws {
        let end = tasks.count + 1
        var lifetimes: [ValueID: (first: Int, last: Int)] = [:]
        for id in graph.inputs { lifetimes[id] = (0, 0) }
        for (index, task) in tasks.enumerated() {
            for id in task.inputs where constants[id] == nil { lifetimes[id]?.last = index + 1 }
            lifetimes[task.output] = (index + 1, index + 1)
        }
        for id in graph.outputs where constants[id] == nil { lifetimes[id]?.last = end }
        let ids = lifetimes.keys.sorted()
        for id in Set(ids + tasks.flatMap(\.inputs)) {
            let value = graph[id]
            let count = elementCount(value.shape)
            // Bool tensors (comparison results) hold 1 and 0 as floats.
            guard value.dtype == .float32 || value.dtype == .bool, count > 0, count <= Int(Int32.max) else {
                throw InterpreterError("value '\(value.name)' (\(value.dtype), shape \(value.shape)) cannot be computed in float32")
            }
        }
        var buffers = ids.map { BufferLifetime(count: elementCount(graph[$0].shape), first: lifetimes[$0]!.first, last: lifetimes[$0]!.last) }
        buffers += tasks.enumerated().map { BufferLifetime(count: $1.kernel.scratchCount, first: $0 + 1, last: $0 + 1) }
        let plan = planArena(buffers)
        arena.deallocate()
        arena = .allocate(capacity: max(plan.count, 1))
        arena.initialize(repeating: 0, count: max(plan.count, 1))
        var location = constants
        for (index, id) in ids.enumerated() { location[id] = .arena(plan.offsets[index]) }
        steps = tasks.enumerated().map { index, task in
            guard case .arena(let output) = location[task.output]! else { preconditionFailure("task outputs live in the arena") }
            return Step(kernel: task.kernel, inputs: task.inputs.map { location[$0]! }, output: output, scratch: plan.offsets[ids.count + index])
        }
        inputs = graph.inputs.map { id in
            guard case .arena(let offset) = location[id]! else { preconditionFailure("graph inputs live in the arena") }
            return (offset, elementCount(graph[id].shape))
        }
        outputs = graph.outputs.map { (location[$0]!, elementCount(graph[$0].shape)) }
    }

    private func address(_ location: Location) -> UnsafeMutablePointer<Float> {
        switch location {
        case .arena(let offset): return arena + offset
        case .constant(let index): return constants[index].baseAddress!
        }
    }

    /// Runs the graph `batches` times, each on the next slice of every input.
    func run(_ data: [[Float]], batches: Int) -> [[Float]] {
        lock.lock()
        defer { lock.unlock() }
        var results = outputs.map { _ in [Float]() }
        for batch in 0..<batches {
            for (input, values) in zip(inputs, data) {
                values.withUnsafeBufferPointer { source in
                    (arena + input.offset).update(from: source.baseAddress! + batch * input.count, count: input.count)
                }
            }
            for step in steps {
                step.kernel.run(KernelContext(inputs: step.inputs.map { UnsafePointer(address($0)) },
                                              output: arena + step.output, scratch: arena + step.scratch))
            }
            for (index, output) in outputs.enumerated() {
                results[index] += UnsafeBufferPointer(start: address(output.location), count: output.count)
            }
        }
        return results
    }
}
