import Foundation
import Testing
import H5ToLiteCore
import H5ToLiteIR
import H5ToLiteTFLite

/// --sparse-weights written and read back, TensorFlow's layouts and others the format allows,
/// and malformed sparsity blocks. Weights are seeded samples; every expected value is the
/// weight the graph was built with.
@Suite struct SparseWeightsTests {
    /// A dense layer [out, in] = [8, 16] whose weights below `threshold` in magnitude are zero,
    /// or, with `blocks`, whose 1x4 blocks with a small first element are zero.
    func denseGraph(threshold: Float = 0.7, blocks: Bool = false, int8: Bool = false) throws -> (Graph, [Float]) {
        var weights = seededNormalSamples(shape: [8, 16], count: 1).data
        for index in weights.indices {
            let lead = blocks ? weights[index - index % 4] : weights[index]
            if abs(lead) < threshold { weights[index] = 0 }
        }
        var graph = Graph(name: "dense")
        let x = graph.addInput(name: "x", shape: [1, 16])
        let data: ConstantData = int8 ? .int8(weights.map { Int8(max(-127, min(127, $0 * 40))) }) : .float32(weights)
        let w = graph.addConstant(name: "w", shape: [8, 16], data: data,
                                  quantization: int8 ? Quantization(scale: 1.0 / 40, zeroPoint: 0) : nil)
        graph.outputs = [try graph.addOp(.fullyConnected(.none), inputs: [x, w], name: "y", origin: "dense",
                                         dtype: .float32)]
        return (graph, weights)
    }

    func readWeights(_ bytes: [UInt8]) throws -> [Float]? {
        let graph = try readTFLite(bytes: bytes)
        return graph.values.first { $0.shape == [8, 16] }?.constant?.floats
    }

    @Test func randomSparsityIsStoredBehindDensifyAndReadsBackExactly() throws {
        let (graph, weights) = try denseGraph()
        let plan = planSparseWeights(graph)
        let sparse = try #require(plan.sparse.values.first)
        #expect(sparse.densify && sparse.layout.blockMap.isEmpty)
        let bytes = try writeTFLite(graph, sparse: plan.sparse)
        #expect(try readWeights(bytes) == weights)
        let summary = try summarizeTFLite(bytes: bytes)
        #expect(summary.operatorCodes.contains { $0.name == "DENSIFY" && $0.uses == 1 })
        let tensor = try #require(summary.sparseTensors.first)
        #expect(tensor.storedValues == weights.filter { $0 != 0 }.count && tensor.elements == 128)
    }

    @Test func blockSparseDenseWeightsAreReadByFullyConnectedItself() throws {
        let (graph, weights) = try denseGraph(blocks: true)
        let plan = planSparseWeights(graph)
        let sparse = try #require(plan.sparse.values.first)
        #expect(!sparse.densify && sparse.layout.blockMap == [1])
        let bytes = try writeTFLite(graph, sparse: plan.sparse)
        #expect(try readWeights(bytes) == weights)
        let codes = try summarizeTFLite(bytes: bytes).operatorCodes
        #expect(codes.map(\.name) == ["FULLY_CONNECTED"] && codes[0].version == 8)
    }

    @Test func weightsWithFewerThanThirtyPercentZerosStayDense() throws {
        let (graph, weights) = try denseGraph(threshold: 0.2)
        #expect(Double(weights.filter { $0 == 0 }.count) < 0.3 * 128)
        #expect(planSparseWeights(graph).sparse.isEmpty)
    }

    @Test func int8WeightsStayDenseAndAreNamed() throws {
        let (graph, _) = try denseGraph(int8: true)
        let plan = planSparseWeights(graph)
        #expect(plan.sparse.isEmpty && plan.skipped == ["w"])
    }

    @Test func int8DenseWeightsIn16WideBlocksAreReadByFullyConnectedItself() throws {
        var weights = seededNormalSamples(shape: [8, 32], count: 1).data
        for index in weights.indices where abs(weights[index - index % 16]) < 0.7 { weights[index] = 0 }
        let quantized = weights.map { Int8(max(-127, min(127, ($0 * 40).rounded()))) }
        var graph = Graph(name: "int8")
        let x = graph.addInput(name: "x", shape: [1, 32], dtype: .int8)
        graph[x].quantization = Quantization(scale: 0.05, zeroPoint: 0)
        let w = graph.addConstant(name: "w", shape: [8, 32], data: .int8(quantized), quantization: Quantization(scale: 1.0 / 40, zeroPoint: 0))
        graph.outputs = [try graph.addOp(.fullyConnected(.none), inputs: [x, w], name: "y", origin: "dense",
                                         quantization: Quantization(scale: 0.1, zeroPoint: 0))]
        let plan = planSparseWeights(graph)
        let sparse = try #require(plan.sparse[w])
        #expect(!sparse.densify && sparse.layout.blockMap == [1] && plan.skipped.isEmpty)
        let read = try readTFLite(bytes: try writeTFLite(graph, sparse: plan.sparse))
        #expect(read.values.first { $0.shape == [8, 32] }?.constant == .int8(quantized))
    }

    /// Writes `weights` of `graph` with a hand-made sparse layout and reads them back.
    func roundTrip(_ graph: Graph, layout: SparseLayout, stored: [Float]) throws -> [UInt8] {
        let id = try #require(graph.values.indices.first { graph.values[$0].shape == [8, 16] })
        let constant = SparseConstant(layout: layout, stored: stored.withUnsafeBytes { Array($0) }, densify: true, zeros: 0,
                                      elements: 128)
        return try writeTFLite(graph, sparse: [id: constant])
    }

    @Test func columnMajorAndBlockedAlongRowsLayoutsReadBack() throws {
        let (graph, weights) = try denseGraph()
        // Columns first (CSC): level 0 walks the 16 columns, level 1 the rows present in each.
        var segments = [0], indices: [Int] = [], stored: [Float] = []
        for column in 0..<16 {
            for row in 0..<8 where weights[row * 16 + column] != 0 {
                indices.append(row)
                stored.append(weights[row * 16 + column])
            }
            segments.append(indices.count)
        }
        let csc = SparseLayout(traversalOrder: [1, 0], blockMap: [],
                               levels: [.dense(size: 16), .compressed(segments: segments, indices: indices)])
        #expect(try readWeights(try roundTrip(graph, layout: csc, stored: stored)) == weights)
        // Blocks of 2 rows, every level dense: the values in block order.
        var blockOrder: [Float] = []
        for rowBlock in 0..<4 {
            for column in 0..<16 {
                for inner in 0..<2 { blockOrder.append(weights[(rowBlock * 2 + inner) * 16 + column]) }
            }
        }
        let blocked = SparseLayout(traversalOrder: [0, 1, 2], blockMap: [0],
                                   levels: [.dense(size: 4), .dense(size: 16), .dense(size: 2)])
        #expect(try readWeights(try roundTrip(graph, layout: blocked, stored: blockOrder)) == weights)
    }

    @Test(arguments: [
        (SparseLayout(traversalOrder: [0, 1], blockMap: [], levels: [.dense(size: 8), .compressed(segments: [0, 1], indices: [0])]),
         "dim_metadata[1].array_segments has 2 entries, expected 9"),
        (SparseLayout(traversalOrder: [0, 1], blockMap: [], levels: [.dense(size: 7), .dense(size: 16)]),
         "dim_metadata[0].dense_size is 7"),
        (SparseLayout(traversalOrder: [0, 0], blockMap: [], levels: [.dense(size: 8), .dense(size: 16)]),
         "traversal_order [0, 0]"),
        (SparseLayout(traversalOrder: [0, 1, 2], blockMap: [2], levels: [.dense(size: 8), .dense(size: 16), .dense(size: 4)]),
         "block_map [2]"),
        (SparseLayout(traversalOrder: [0, 1, 2], blockMap: [1], levels: [.dense(size: 8), .dense(size: 3), .dense(size: 5)]),
         "blocks of 5 do not divide axis 1"),
        (SparseLayout(traversalOrder: [0, 1], blockMap: [],
                      levels: [.dense(size: 8), .compressed(segments: [0, 2, 2, 2, 2, 2, 2, 2, 2], indices: [3, 1])]),
         "array_indices: index 1 under position 0 is out of order"),
        (SparseLayout(traversalOrder: [0, 1], blockMap: [],
                      levels: [.dense(size: 8), .compressed(segments: [0, 1, 1, 1, 1, 1, 1, 1, 1], indices: [16])]),
         "index 16 under position 0"),
        (SparseLayout(traversalOrder: [0, 1], blockMap: [],
                      levels: [.dense(size: 8), .compressed(segments: [0, 2, 1, 2, 2, 2, 2, 2, 2], indices: [0, 1])]),
         "array_segments decreases at entry 2"),
        (SparseLayout(traversalOrder: [0], blockMap: [], levels: [.dense(size: 8)]), "traversal_order [0] is not an order"),
        (SparseLayout(traversalOrder: [0, 1], blockMap: [],
                      levels: [.dense(size: 8), .compressed(segments: [0, 5, 2, 2, 2, 2, 2, 2, 2], indices: [0, 1])]),
         "array_segments entry 1 is 5, past the 2 indices"),
    ] as [(SparseLayout, String)])
    func malformedSparsityIsAOneLineErrorNamingTensorAndField(layout: SparseLayout, message: String) throws {
        let (graph, _) = try denseGraph()
        let bytes = try roundTrip(graph, layout: layout, stored: [1, 2])
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("sparse-\(UUID().uuidString).tflite").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        do {
            _ = try readTFLite(path: path)
            Issue.record("read a malformed sparse tensor")
        } catch let error as H5ToLiteError {
            let text = "\(error)"
            #expect(text.hasPrefix(path) && text.contains("tensor 1 ('w')") && text.contains(message), "\(text)")
            #expect(!text.contains("\n"))
        }
    }

    @Test func storedValuesMustMatchTheLayout() throws {
        let (graph, _) = try denseGraph()
        let layout = SparseLayout(traversalOrder: [0, 1], blockMap: [],
                                  levels: [.dense(size: 8), .compressed(segments: [0, 1, 1, 1, 1, 1, 1, 1, 1], indices: [3])])
        let bytes = try roundTrip(graph, layout: layout, stored: [1, 2])
        let error = #expect(throws: H5ToLiteError.self) { try readTFLite(bytes: bytes) }
        #expect(error?.description.contains("its sparsity stores 1 values of FLOAT32 (4 bytes)") == true)
    }
}
