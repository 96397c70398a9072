import Foundation
import H5ToLiteCore
import H5ToLiteIR

/// The compiled form of a graph: kernels in order, constants, and the plan of
/// the arena holding every activation. The arena is addressed in 4-byte words; a
/// value takes as many words as its elements need (a quarter as many for 8-bit
/// ones). Each run borrows an arena of its own, so runs may overlap; a batch is
/// spread over workers, one sample at a time each, when there are more samples
/// than one.
final class Program: @unchecked Sendable {
    enum Location {
        case arena(Int)
        case constant(Int)
    }

    struct Step {
        let kernel: any Kernel
        let inputs: [Location]
        let output: Int
        let scratch: Int
        let value: ValueID
    }

    /// A graph input or output and where it lives.
    struct Boundary {
        let location: Location
        let value: Value
        let id: ValueID
    }

    private let graph: Graph
    private let threads: Int
    private var steps: [Step] = []
    private var constants: [UnsafeMutableBufferPointer<Float>] = []
    private var arenas = ArenaPool(words: 1)
    private var inputs: [Boundary] = []
    private var outputs: [Boundary] = []

    init(graph: Graph, threads: Int, fusing: Bool) throws {
        self.graph = graph
        self.threads = threads
        let tasks = try schedule(graph, threads: threads, fusing: fusing)
        let locations = placeConstants(tasks: tasks)
        try placeActivations(tasks: tasks, constants: locations)
    }

    deinit {
        constants.forEach { $0.deallocate() }
    }

    /// Copies the constants the kernels read into word-aligned buffers of their
    /// own, bound to their element type.
    private func placeConstants(tasks: [Task]) -> [ValueID: Location] {
        var locations: [ValueID: Location] = [:]
        for id in tasks.flatMap(\.inputs) + graph.outputs where locations[id] == nil {
            guard let constant = graph[id].constant else { continue }
            let buffer = UnsafeMutableBufferPointer<Float>.allocate(capacity: max(words(graph[id]), 1))
            let raw = UnsafeMutableRawPointer(buffer.baseAddress!)
            constant.withUnsafeBytes { bytes in
                if let base = bytes.baseAddress { raw.copyMemory(from: base, byteCount: bytes.count) }
            }
            bind(raw, graph[id])
            locations[id] = .constant(constants.count)
            constants.append(buffer)
        }
        return locations
    }

    /// Largest activation arena, in 4-byte words (4 GiB): DenseNet201 at 224x224 needs ~60 MiB.
    static let maxArenaWords = 1 << 30

    /// Plans the arena: each task's output (and scratch) lives from its step to
    /// the last step that reads it; graph inputs live from the start, outputs to the end.
    private func placeActivations(tasks: [Task], constants: [ValueID: Location]) throws {
        let end = tasks.count + 1
        var lifetimes: [ValueID: (first: Int, last: Int)] = [:]
        for id in graph.inputs { lifetimes[id] = (0, 0) }
        for (index, task) in tasks.enumerated() {
            for id in task.inputs where constants[id] == nil { lifetimes[id]?.last = index + 1 }
            lifetimes[task.output] = (index + 1, index + 1)
        }
        for id in graph.outputs where constants[id] == nil { lifetimes[id]?.last = end }
        let ids = lifetimes.keys.sorted()
        for id in Set(ids + tasks.flatMap(\.inputs)) where constants[id] == nil {
            try checkActivation(graph[id])
        }
        var buffers = ids.map { BufferLifetime(count: words(graph[$0]), first: lifetimes[$0]!.first, last: lifetimes[$0]!.last) }
        buffers += tasks.enumerated().map { BufferLifetime(count: $1.kernel.scratchCount, first: $0 + 1, last: $0 + 1) }
        let plan = planArena(buffers)
        // A file's shapes decide this size; a damaged or hostile one must not claim the machine.
        guard plan.count <= Program.maxArenaWords else {
            throw H5ToLiteError("the model needs \(plan.count * 4 / (1 << 20)) MiB of activations, over the "
                                   + "\(Program.maxArenaWords * 4 / (1 << 30)) GiB limit")
        }
        arenas = ArenaPool(words: max(plan.count, 1))
        var location = constants
        for (index, id) in ids.enumerated() { location[id] = .arena(plan.offsets[index]) }
        steps = tasks.enumerated().map { index, task in
            guard case .arena(let output) = location[task.output]! else { preconditionFailure("task outputs live in the arena") }
            return Step(kernel: task.kernel, inputs: task.inputs.map { location[$0]! }, output: output,
                        scratch: plan.offsets[ids.count + index], value: task.output)
        }
        inputs = graph.inputs.map { Boundary(location: location[$0]!, value: graph[$0], id: $0) }
        outputs = graph.outputs.map { Boundary(location: location[$0]!, value: graph[$0], id: $0) }
    }

    /// Activations are float32, bool (1 and 0 as floats) or quantized 8-bit.
    private func checkActivation(_ value: Value) throws {
        let count = elementCount(value.shape)
        guard [.float32, .bool, .int8, .uint8].contains(value.dtype), count > 0, count <= Int(Int32.max) else {
            throw H5ToLiteError("value '\(value.name)' (\(value.dtype), shape \(value.shape)) cannot be computed")
        }
    }

    private func address(_ location: Location, _ arena: UnsafeMutablePointer<Float>) -> UnsafeMutablePointer<Float> {
        switch location {
        case .arena(let offset): return arena + offset
        case .constant(let index): return constants[index].baseAddress!
        }
    }

    /// Runs the graph `batches` times, each on the next slice of every input,
    /// handing each computed value to `observe` when it is given: in order, one
    /// batch after another, unless `concurrently`, when the batches spread over
    /// workers and `observe` is called from all of them.
    func run(_ data: [[Float]], batches: Int, raw: Bool, observe: ((ValueID, Tensor) -> Void)?,
             concurrently: Bool = false) -> [[Float]] {
        let results = outputs.map { UnsafeMutableBufferPointer<Float>.allocate(capacity: batches * elementCount($0.value.shape)) }
        defer { results.forEach { $0.deallocate() } }
        let workers = observe == nil || concurrently ? min(threads, batches) : 1
        parallelWorkers(workers) { worker in
            let arena = arenas.take()
            defer { arenas.give(arena) }
            for batch in stride(from: worker, to: batches, by: workers) {
                run(data, batch: batch, raw: raw, arena: arena, into: results, observe: observe)
            }
        }
        return results.map { Array($0) }
    }

    /// Runs the first graph batch of `data` once and returns the seconds each step took.
    func timeSteps(_ data: [[Float]]) -> [(kernel: any Kernel, value: ValueID, seconds: Double)] {
        let results = outputs.map { UnsafeMutableBufferPointer<Float>.allocate(capacity: elementCount($0.value.shape)) }
        defer { results.forEach { $0.deallocate() } }
        let arena = arenas.take()
        defer { arenas.give(arena) }
        var seconds = [Double](repeating: 0, count: steps.count)
        run(data, batch: 0, raw: false, arena: arena, into: results, observe: nil, seconds: &seconds)
        return zip(steps, seconds).map { ($0.kernel, $0.value, $1) }
    }

    /// One graph batch in `arena`; its outputs go to their slice of `results`.
    private func run(_ data: [[Float]], batch: Int, raw: Bool, arena: UnsafeMutablePointer<Float>,
                     into results: [UnsafeMutableBufferPointer<Float>], observe: ((ValueID, Tensor) -> Void)?) {
        var noTimes: [Double] = []
        run(data, batch: batch, raw: raw, arena: arena, into: results, observe: observe, seconds: &noTimes)
    }

    /// One graph batch, adding each step's time to `seconds` when it has one entry per step.
    private func run(_ data: [[Float]], batch: Int, raw: Bool, arena: UnsafeMutablePointer<Float>,
                     into results: [UnsafeMutableBufferPointer<Float>], observe: ((ValueID, Tensor) -> Void)?,
                     seconds: inout [Double]) {
        for (input, values) in zip(inputs, data) {
            let count = elementCount(input.value.shape)
            values.withUnsafeBufferPointer { source in
                store(UnsafeBufferPointer(rebasing: source[(batch * count)..<((batch + 1) * count)]), into: input, arena)
            }
            observe?(input.id, Tensor(shape: input.value.shape, data: load(input.location, input.value, arena, raw: false)))
        }
        let timed = seconds.count == steps.count
        for (index, step) in steps.enumerated() {
            let output = arena + step.output
            bind(UnsafeMutableRawPointer(output), graph[step.value])
            let start = timed ? DispatchTime.now().uptimeNanoseconds : 0
            step.kernel.run(KernelContext(inputs: step.inputs.map { UnsafePointer(address($0, arena)) },
                                          output: output, scratch: arena + step.scratch))
            if timed { seconds[index] += Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 }
            if let observe {
                let value = graph[step.value]
                observe(step.value, Tensor(shape: value.shape, data: load(.arena(step.output), value, arena, raw: false)))
            }
        }
        for (output, target) in zip(outputs, results) {
            let count = elementCount(output.value.shape)
            let values = load(output.location, output.value, arena, raw: raw)
            _ = UnsafeMutableBufferPointer(rebasing: target[(batch * count)..<((batch + 1) * count)]).update(fromContentsOf: values)
        }
    }

    /// Writes real numbers into a graph input, quantized if the input is 8-bit.
    private func store(_ source: UnsafeBufferPointer<Float>, into input: Boundary, _ arena: UnsafeMutablePointer<Float>) {
        let target = address(input.location, arena)
        bind(UnsafeMutableRawPointer(target), input.value)
        guard let quantization = input.value.quantization, input.value.dtype != .float32 else {
            target.update(from: source.baseAddress!, count: source.count)
            return
        }
        let parameters = AffineParameters(quantization)
        let range = integerRange(input.value.dtype)
        for (index, x) in source.enumerated() {
            storeInteger(quantizeValue(x, parameters, range), at: index, input.value.dtype, target)
        }
    }

    /// A value's elements as floats: dequantized, or the raw integers.
    private func load(_ location: Location, _ value: Value, _ arena: UnsafeMutablePointer<Float>, raw: Bool) -> [Float] {
        let source = UnsafePointer(address(location, arena))
        let count = elementCount(value.shape)
        guard value.dtype == .int8 || value.dtype == .uint8 else {
            return Array(UnsafeBufferPointer(start: source, count: count))
        }
        let parameters = AffineParameters(value.quantization!)
        return (0..<count).map { index in
            let q = loadInteger(at: index, value.dtype, source)
            return raw ? Float(q) : dequantizeValue(q, parameters)
        }
    }
}

/// Arenas for runs that overlap: one is made when a run finds none free, and
/// kept for the next run.
final class ArenaPool: @unchecked Sendable {
    let words: Int
    private var free: [UnsafeMutablePointer<Float>] = []
    private let lock = NSLock()

    init(words: Int) {
        self.words = words
    }

    deinit {
        free.forEach { $0.deallocate() }
    }

    func take() -> UnsafeMutablePointer<Float> {
        lock.withLock { free.popLast() } ?? {
            let arena = UnsafeMutablePointer<Float>.allocate(capacity: words)
            arena.initialize(repeating: 0, count: words)
            return arena
        }()
    }

    func give(_ arena: UnsafeMutablePointer<Float>) {
        lock.withLock { free.append(arena) }
    }
}

/// Words of arena or constant memory a value takes.
private func words(_ value: Value) -> Int {
    wordCount(elementCount(value.shape), size: value.dtype == .bool ? 4 : value.dtype.byteSize)
}

/// Binds memory to a value's element type before it is written (a no-op at
/// run time; it tells the compiler which type the bytes now hold).
private func bind(_ memory: UnsafeMutableRawPointer, _ value: Value) {
    let count = elementCount(value.shape)
    switch value.dtype {
    case .int8: memory.bindMemory(to: Int8.self, capacity: count)
    case .uint8: memory.bindMemory(to: UInt8.self, capacity: count)
    case .int32: memory.bindMemory(to: Int32.self, capacity: count)
    case .float16: memory.bindMemory(to: UInt16.self, capacity: count)
    case .int64: memory.bindMemory(to: Int64.self, capacity: count)
    case .float32, .bool: memory.bindMemory(to: Float.self, capacity: count)
    }
}

/// The observing program is built the first time it is needed, then kept.
final class ObservingProgram: @unchecked Sendable {
    private let graph: Graph
    private let threads: Int
    private var built: Program?
    private let lock = NSLock()

    init(graph: Graph, threads: Int) {
        self.graph = graph
        self.threads = threads
    }

    func program() throws -> Program {
        lock.lock()
        defer { lock.unlock() }
        if let built { return built }
        let program = try Program(graph: graph, threads: threads, fusing: false)
        built = program
        return program
    }
}

/// DEQUANTIZE of a constant (float16 or int8 weights behind it) is done once,
/// when the interpreter is built: its output becomes a float32 constant.
func foldConstantDequantize(_ graph: Graph) -> Graph {
    var folded = graph
    folded.ops = graph.ops.filter { op in
        guard op.kind == .dequantize, let constant = graph[op.inputs[0]].constant,
              let values = dequantizedConstant(constant, graph[op.inputs[0]]) else { return true }
        folded[op.outputs[0]].constant = .float32(values)
        return false
    }
    return folded
}

private func dequantizedConstant(_ constant: ConstantData, _ value: Value) -> [Float]? {
    switch constant {
    case .float16(let bits):
        return bits.map { Float(Float16(bitPattern: $0)) }
    case .int8(let values):
        guard let quantization = value.quantization else { return nil }
        let channels = quantization.scales.count
        let inner = channels > 1 ? elementCount(Array(value.shape[(quantization.axis + 1)...])) : 1
        return values.enumerated().map { index, q in
            let channel = channels > 1 ? (index / inner) % channels : 0
            return dequantizeValue(Int32(q), AffineParameters(scale: quantization.scales[channel],
                                                             zeroPoint: Int32(quantization.zeroPoints[channel])))
        }
    default:
        return nil
    }
}

/// Every 8-bit value the graph uses carries valid parameters: positive finite
/// scales, zero points in the type's range; activations and elementwise
/// operands one scale, weights one per tensor or per slice of their axis.
func checkQuantization(_ graph: Graph) throws {
    var weights = Set<ValueID>()
    for op in graph.ops {
        if let operands = op.kind.facts.weights, op.inputs.count > operands.filter { weights.insert(op.inputs[operands.filter]) }
        if op.kind == .dequantize { weights.insert(op.inputs[0]) }
    }
    let used = Set(graph.inputs + graph.outputs + graph.ops.flatMap { $0.inputs + $0.outputs })
    for id in used.sorted() where graph[id].dtype == .int8 || graph[id].dtype == .uint8 {
        let value = graph[id]
        guard let quantization = value.quantization, !quantization.scales.isEmpty,
              quantization.zeroPoints.count == quantization.scales.count,
              quantization.scales.allSatisfy({ $0.isFinite && $0 > 0 }),
              quantization.zeroPoints.allSatisfy({ integerRange(value.dtype).contains(Int32(clamping: $0)) }) else {
            throw H5ToLiteError("\(value.dtype) value '\(value.name)' needs quantization parameters: positive scales and zero points in range")
        }
        let perSlice = weights.contains(id) && value.constant != nil
        guard quantization.scales.count == 1 || (perSlice && value.shape.indices.contains(quantization.axis)
                                                  && value.shape[quantization.axis] == quantization.scales.count) else {
            throw H5ToLiteError("\(value.dtype) value '\(value.name)' has \(quantization.scales.count) scales; only weights may have one per channel")
        }
    }
}
