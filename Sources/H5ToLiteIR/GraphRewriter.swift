/// Edits a graph while keeping its def-use (each value's producer and readers) up to date,
/// so that a pass asks who reads a value in constant time instead of rescanning every op
/// after each change. Removed ops leave a hole until `finish()`, so op indices stay valid
/// for the whole rewrite.
public struct GraphRewriter {
    public private(set) var graph: Graph
    private var producers: [Int?]
    private var readers: [[Int]]
    private var removed: Set<Int> = []

    public init(_ graph: Graph) {
        self.graph = graph
        producers = graph.producers()
        readers = graph.readers()
    }

    /// The graph without the removed ops.
    public func finish() -> Graph {
        var result = graph
        result.ops = graph.ops.indices.filter { !removed.contains($0) }.map { graph.ops[$0] }
        return result
    }

    public subscript(id: ValueID) -> Value {
        get { graph[id] }
        set { graph[id] = newValue }
    }

    public var ops: [Op] { graph.ops }

    public func producer(of id: ValueID) -> Int? {
        producers[id]
    }

    /// The ops reading `id`, once per operand that reads it.
    public func readers(of id: ValueID) -> [Int] {
        readers[id]
    }

    /// Whether one operand of one op reads `id` and nothing else does, the graph's outputs included.
    public func hasSingleReader(_ id: ValueID) -> Bool {
        readers[id].count == 1 && !graph.outputs.contains(id)
    }

    public mutating func addConstant(name: String, shape: [Int], data: ConstantData) -> ValueID {
        tracked(graph.addConstant(name: name, shape: shape, data: data))
    }

    /// A new value, yet without producer or readers.
    private mutating func tracked(_ id: ValueID) -> ValueID {
        producers.append(nil)
        readers.append([])
        return id
    }

    public mutating func setKind(_ kind: OpKind, of index: Int) {
        graph.ops[index].kind = kind
    }

    public mutating func setInput(_ position: Int, of index: Int, to id: ValueID) {
        unlink(graph.ops[index].inputs[position], reader: index)
        graph.ops[index].inputs[position] = id
        readers[id].append(index)
    }

    public mutating func removeInput(_ position: Int, of index: Int) {
        unlink(graph.ops[index].inputs[position], reader: index)
        graph.ops[index].inputs.remove(at: position)
    }

    public mutating func appendInput(_ id: ValueID, to index: Int) {
        graph.ops[index].inputs.append(id)
        readers[id].append(index)
    }

    /// Removes op `index` and makes op `producer` write its outputs instead of its own: the
    /// removed op is folded into the one that fed it.
    public mutating func fold(_ index: Int, into producer: Int) {
        for output in graph.ops[producer].outputs { producers[output] = nil }
        let outputs = graph.ops[index].outputs
        removeOp(index)
        graph.ops[producer].outputs = outputs
        for output in outputs { producers[output] = producer }
    }

    public mutating func removeOp(_ index: Int) {
        for input in graph.ops[index].inputs { unlink(input, reader: index) }
        for output in graph.ops[index].outputs { producers[output] = nil }
        removed.insert(index)
    }

    /// Makes every reader of `old` (ops and graph outputs) read `new` instead.
    public mutating func replaceUses(of old: ValueID, with new: ValueID) {
        for reader in readers[old] {
            let position = graph.ops[reader].inputs.firstIndex(of: old)!
            graph.ops[reader].inputs[position] = new
        }
        readers[new] += readers[old]
        readers[old] = []
        graph.outputs = graph.outputs.map { $0 == old ? new : $0 }
    }

    /// Forgets one read of `id` by op `reader`.
    private mutating func unlink(_ id: ValueID, reader: Int) {
        if let position = readers[id].firstIndex(of: reader) { readers[id].remove(at: position) }
    }
}
