import CKernels
import Foundation
import H5ToLiteIR

/// One op ready to run: shapes resolved and loop bounds precomputed when the
/// interpreter is built, so running it only touches memory.
protocol Kernel {
    /// Scratch memory the kernel needs while it runs, in 4-byte words.
    var scratchCount: Int { get }
    func run(_ context: KernelContext)
}

extension Kernel {
    var scratchCount: Int { 0 }
}

/// Where a kernel reads and writes. Inputs and output never overlap. Every
/// buffer starts on a 4-byte word; integer kernels view it as their element type.
struct KernelContext {
    let inputs: [UnsafePointer<Float>]
    let output: UnsafeMutablePointer<Float>
    let scratch: UnsafeMutablePointer<Float>

    /// Input `index` as elements of type `T`, which its producer wrote.
    func input<T>(_ index: Int, as type: T.Type) -> UnsafePointer<T> {
        UnsafeRawPointer(inputs[index]).assumingMemoryBound(to: type)
    }

    /// The output as elements of type `T`, which the program bound it to.
    func output<T>(as type: T.Type) -> UnsafeMutablePointer<T> {
        UnsafeMutableRawPointer(output).assumingMemoryBound(to: type)
    }

    /// Scratch memory rebound to hold `count` elements of type `T`.
    func scratch<T>(as type: T.Type, count: Int) -> UnsafeMutablePointer<T> {
        UnsafeMutableRawPointer(scratch).bindMemory(to: type, capacity: count)
    }
}

/// 4-byte words that hold `count` elements of `size` bytes.
func wordCount(_ count: Int, size: Int) -> Int {
    (count * size + 3) / 4
}

/// How many contiguous chunks `parallelFor` splits `count` items into: a few per
/// thread, so a thread that wakes late finds work left, and none smaller than `grain`.
func chunkCount(_ count: Int, threads: Int, grain: Int = 1) -> Int {
    threads > 1 ? max(1, min(threads * 4, count / max(grain, 1))) : 1
}

/// Runs `body` on contiguous chunks of `0..<count` in parallel, on the kernels' thread pool
/// (h5t_parallel); `grain` is the least work worth a chunk of its own. The body gets its chunk
/// index (for per-chunk scratch) and its range. Inside a worker of `parallelWorkers` the chunks
/// run one after another on the worker's thread: the cores are taken.
func parallelFor(_ count: Int, threads: Int, grain: Int = 1, _ body: (Int, Range<Int>) -> Void) {
    let chunks = chunkCount(count, threads: threads, grain: grain)
    @Sendable func range(_ chunk: Int) -> Range<Int> { (count * chunk / chunks)..<(count * (chunk + 1) / chunks) }
    guard chunks > 1, !WorkerThread.isWorker else {
        for chunk in 0..<chunks where !range(chunk).isEmpty { body(chunk, range(chunk)) }
        return
    }
    withoutActuallyEscaping(body) { body in
        // Chunks write disjoint ranges of the output, so sharing the body is safe.
        let job = ChunkJob { chunk in body(chunk, range(chunk)) }
        withExtendedLifetime(job) {
            h5t_parallel(Int32(chunks), Int32(threads), { context, chunk in
                Unmanaged<ChunkJob>.fromOpaque(context!).takeUnretainedValue().run(Int(chunk))
            }, Unmanaged.passUnretained(job).toOpaque())
        }
    }
}

/// A chunked job as the thread pool's C callback finds it.
private final class ChunkJob {
    let run: (Int) -> Void
    init(_ run: @escaping (Int) -> Void) { self.run = run }
}

/// Runs `body(worker)` for workers 0..<count at once, each on a thread of its
/// own on which `parallelFor` does not split work further.
func parallelWorkers(_ count: Int, _ body: (Int) -> Void) {
    guard count > 1 else {
        body(0)
        return
    }
    withoutActuallyEscaping(body) { body in
        let shared = UncheckedSendable(body)
        DispatchQueue.concurrentPerform(iterations: count) { worker in
            WorkerThread.isWorker = true
            defer { WorkerThread.isWorker = false }
            shared.value(worker)
        }
    }
}

/// Whether the current thread is a batch worker: a flag per thread.
enum WorkerThread {
    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key, nil)
        return key
    }()

    static var isWorker: Bool {
        get { pthread_getspecific(key) != nil }
        set { pthread_setspecific(key, newValue ? UnsafeRawPointer(bitPattern: 1) : nil) }
    }
}

struct UncheckedSendable<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}

/// Applies a fused activation in place.
func applyActivation(_ activation: FusedActivation, _ data: UnsafeMutablePointer<Float>, count: Int) {
    switch activation {
    case .none: return
    case .relu: clamp(data, count: count, lower: 0, upper: .infinity)
    case .relu6: clamp(data, count: count, lower: 0, upper: 6)
    case .reluN1To1: clamp(data, count: count, lower: -1, upper: 1)
    case .tanh: for i in 0..<count { data[i] = tanh(data[i]) }
    }
}

/// TFLite's ActivationFunctionWithMinMax: min(max(x, lower), upper).
func clamp(_ data: UnsafeMutablePointer<Float>, count: Int, lower: Float, upper: Float) {
    for i in 0..<count { data[i] = min(max(data[i], lower), upper) }
}

/// Row-major strides of a shape.
func rowMajorStrides(_ shape: [Int]) -> [Int] {
    var strides = Array(repeating: 1, count: shape.count)
    for axis in shape.indices.dropLast().reversed() {
        strides[axis] = strides[axis + 1] * shape[axis + 1]
    }
    return strides
}

/// Walks the rows (all axes but the last) of an iteration shape, tracking where
/// each row starts in several operands laid out with their own strides. Kernels
/// then run a tight loop along the last axis.
struct StridedRows {
    let sizes: [Int]
    /// Per operand, one stride per axis of `sizes`.
    let strides: [[Int]]

    var rowCount: Int { sizes.dropLast().reduce(1, *) }
    var rowLength: Int { sizes.last ?? 1 }

    /// Calls `body` with each operand's offset for rows `range`.
    func forEach(_ range: Range<Int>, _ body: ([Int]) -> Void) {
        guard !range.isEmpty else { return }
        let outer = sizes.count - 1
        var coordinate = Array(repeating: 0, count: max(outer, 0))
        var remainder = range.lowerBound
        for axis in (0..<max(outer, 0)).reversed() {
            coordinate[axis] = remainder % sizes[axis]
            remainder /= sizes[axis]
        }
        var offsets = strides.map { operand in (0..<max(outer, 0)).reduce(0) { $0 + coordinate[$1] * operand[$1] } }
        for _ in range {
            body(offsets)
            for axis in (0..<max(outer, 0)).reversed() {
                coordinate[axis] += 1
                for operand in offsets.indices { offsets[operand] += strides[operand][axis] }
                if coordinate[axis] < sizes[axis] { break }
                for operand in offsets.indices { offsets[operand] -= strides[operand][axis] * sizes[axis] }
                coordinate[axis] = 0
            }
        }
    }

    /// The same walk with adjacent axes merged wherever every operand steps
    /// through them as one, so the innermost loop runs as long as it can.
    func collapsed() -> StridedRows {
        guard var mergedSizes = sizes.last.map({ [$0] }) else { return self }
        var mergedStrides = strides.map { [$0.last!] }
        for axis in sizes.indices.dropLast().reversed() {
            let joins = strides.indices.allSatisfy { strides[$0][axis] == mergedStrides[$0][0] * mergedSizes[0] }
            if joins || sizes[axis] == 1 {
                mergedSizes[0] *= sizes[axis]
            } else {
                mergedSizes.insert(sizes[axis], at: 0)
                for operand in strides.indices { mergedStrides[operand].insert(strides[operand][axis], at: 0) }
            }
        }
        return StridedRows(sizes: mergedSizes, strides: mergedStrides)
    }
}
