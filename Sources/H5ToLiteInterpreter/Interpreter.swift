import CKernels
import COpenBLAS
import Foundation
import H5ToLiteCore
import H5ToLiteIR

/// Runs a graph on float32 inputs. The graph is built for its own batch size
/// (1 for models read from .tflite files); `run` takes any number of samples
/// along the first axis and runs them one graph batch at a time.
///
/// Graphs may be quantized: int8 and uint8 activations live in the arena beside
/// float ones and run with TFLite's reference integer arithmetic; float
/// activations with int8 weights (dynamic-range files) run as LiteRT runs them
/// by default (see `makeHybridKernel`). Inputs are always real numbers,
/// quantized on entry where the graph takes 8-bit inputs; outputs come back
/// dequantized unless raw values are asked for.
///
/// Building the interpreter checks every op, fixes the kernels' loop bounds and
/// plans one memory arena in which each activation lives only from the op that
/// writes it to the last op that reads it.
public struct Interpreter: Sendable {
    public let graph: Graph
    private let program: Program
    private let observer: ObservingProgram

    /// What `run` returns for 8-bit outputs.
    public enum OutputValues: Sendable {
        /// Real numbers: scale * (q - zero point).
        case dequantized
        /// The stored integers q, as floats.
        case raw
    }

    /// The instruction set the inner loops use on this machine ("avx512vnni", "avx512", "avx2"
    /// or "portable"): the best the processor has, or a lesser one named by H5TOLITE_KERNELS.
    public static var instructionSet: String { String(cString: h5t_kernel_isa()) }

    public init(graph original: Graph, threads: Int = ProcessInfo.processInfo.activeProcessorCount) throws {
        guard threads >= 1 else { throw H5ToLiteError("the thread count must be at least 1, got \(threads)") }
        // Keras-level batch normalization runs as the multiply and add it lowers to.
        let graph = lowerBatchNormalization(original)
        try checkOps(graph)
        do {
            try verify(graph)
        } catch let error as H5ToLiteError {
            throw H5ToLiteError("invalid graph: \(error.description)")
        }
        try checkQuantization(graph)
        // Workers split the matrix products themselves; OpenBLAS threads would compete with them.
        openblas_set_num_threads(1)
        self.graph = graph
        let folded = foldConstantDequantize(graph)
        program = try Program(graph: folded, threads: threads, fusing: true)
        observer = ObservingProgram(graph: folded, threads: threads)
    }

    /// Runs every sample of `inputs` (one tensor per graph input, samples along
    /// the first axis) and returns one tensor per graph output, samples likewise.
    public func run(_ inputs: [Tensor], outputs form: OutputValues = .dequantized) throws -> [Tensor] {
        let batches = try batchCount(inputs)
        return shaped(program.run(inputs.map(\.data), batches: batches, raw: form == .raw, observe: nil), batches: batches)
    }

    /// Runs like `run`, and hands `observe` every graph input and every value an
    /// op computes, as float32 (8-bit values dequantized), in the order they are
    /// computed, once per graph batch; the tensor has the value's graph shape.
    /// Calibration records ranges with it; per-layer error tables compare two
    /// graphs' values with it. Every op runs on its own here (no fused pairs), so
    /// it is a little slower than `run`.
    public func run(_ inputs: [Tensor], observe: (ValueID, Tensor) -> Void) throws -> [Tensor] {
        try observing(inputs, concurrently: false, observe)
    }

    /// Runs the first sample of `inputs` once, timing each kernel: for each op the
    /// interpreter runs (fused pairs count as their first op), its kind, the value
    /// it writes and the seconds it took.
    public func timeOps(_ inputs: [Tensor]) throws -> [(kind: String, value: ValueID, seconds: Double)] {
        _ = try batchCount(inputs)
        return program.timeSteps(inputs.map(\.data)).map { kernel, value, seconds in
            (String(describing: type(of: kernel)), value, seconds)
        }
    }

    /// Runs like `run(_:observe:)`, with the batches spread over workers as `run`
    /// spreads them: `observe` is called from several threads at once, in no
    /// order across samples. For observers that only accumulate (calibration).
    public func runConcurrently(_ inputs: [Tensor], observe: @Sendable (ValueID, Tensor) -> Void) throws -> [Tensor] {
        try observing(inputs, concurrently: true, observe)
    }

    private func observing(_ inputs: [Tensor], concurrently: Bool, _ observe: (ValueID, Tensor) -> Void) throws -> [Tensor] {
        let batches = try batchCount(inputs)
        let program = try observer.program()
        return withoutActuallyEscaping(observe) { observe in
            shaped(program.run(inputs.map(\.data), batches: batches, raw: false, observe: observe, concurrently: concurrently),
                   batches: batches)
        }
    }

    private func shaped(_ results: [[Float]], batches: Int) -> [Tensor] {
        zip(graph.outputs, results).map { id, data in
            let shape = graph[id].shape
            return Tensor(shape: [batches * (shape.first ?? 1)] + shape.dropFirst(), data: data)
        }
    }

    /// How many graph batches the inputs hold, after checking their shapes.
    private func batchCount(_ inputs: [Tensor]) throws -> Int {
        guard inputs.count == graph.inputs.count else {
            throw H5ToLiteError("the model takes \(graph.inputs.count) inputs, got \(inputs.count)")
        }
        var batches: Int?
        for (tensor, id) in zip(inputs, graph.inputs) {
            let expected = graph[id].shape
            guard let batch = expected.first, tensor.shape.count == expected.count,
                  tensor.shape.dropFirst() == expected.dropFirst(), tensor.shape[0] % batch == 0 else {
                let needed = (["N"] + expected.dropFirst().map(String.init)).joined(separator: ",")
                throw H5ToLiteError("input '\(graph[id].name)' has shape \(tensor.shape), the model needs [\(needed)]")
            }
            let count = tensor.shape[0] / batch
            guard batches == nil || batches == count else {
                throw H5ToLiteError("the inputs hold different numbers of samples")
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
        guard op.kind.facts.operands.contains(op.inputs.count), op.outputs.count == 1 else {
            throw H5ToLiteError("op \(op.kind.name) from \(op.origin) has \(op.inputs.count) inputs and \(op.outputs.count) outputs")
        }
        for id in op.inputs + op.outputs where id < 0 || id >= graph.values.count {
            throw H5ToLiteError("op \(op.kind.name) from \(op.origin) refers to %\(id), which does not exist")
        }
        guard stepsForward(op.kind) else {
            throw H5ToLiteError("op \(op.kind.name) from \(op.origin) has a window or stride that is not positive")
        }
    }
    for id in graph.inputs + graph.outputs where id < 0 || id >= graph.values.count {
        throw H5ToLiteError("graph input or output %\(id) does not exist")
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
    case .transposeConv2d(let window, let size, _):
        return window.stride.count == 2 && window.stride.allSatisfy { $0 > 0 } && size.count == 2
    case .conv3d(let window, _):
        return window.stride.count == 3 && window.dilation.count == 3 && (window.stride + window.dilation).allSatisfy { $0 > 0 }
    default:
        return true
    }
}
