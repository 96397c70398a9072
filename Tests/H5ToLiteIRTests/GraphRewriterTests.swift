import Testing
import H5ToLiteIR

@Suite struct GraphRewriterTests {
    @Test func replacingUsesMovesEveryRead() throws {
        var graph = Graph(name: "g")
        let x = graph.addInput(name: "x", shape: [1, 4])
        let a = try graph.addOp(.identity, inputs: [x], name: "a", origin: "a")
        let b = try graph.addOp(.binary(.add, .none), inputs: [a, a], name: "b", origin: "b")
        graph.outputs = [b]
        var rewriter = GraphRewriter(graph)
        #expect(rewriter.readers(of: a) == [1, 1])
        #expect(!rewriter.hasSingleReader(a))
        rewriter.removeOp(0)
        rewriter.replaceUses(of: a, with: x)
        #expect(rewriter.readers(of: x) == [1, 1])
        #expect(rewriter.readers(of: a).isEmpty && rewriter.producer(of: a) == nil)
        let result = rewriter.finish()
        #expect(result.ops.map(\.inputs) == [[x, x]])
        try verify(result)
    }

    @Test func foldingHandsTheOutputsToTheProducer() throws {
        var graph = Graph(name: "g")
        let x = graph.addInput(name: "x", shape: [1, 4])
        let a = try graph.addOp(.binary(.add, .none), inputs: [x, x], name: "a", origin: "a")
        let r = try graph.addOp(.unary(.relu), inputs: [a], name: "r", origin: "r")
        graph.outputs = [r]
        var rewriter = GraphRewriter(graph)
        #expect(rewriter.hasSingleReader(a) && !rewriter.hasSingleReader(r))
        rewriter.setKind(.binary(.add, .relu), of: 0)
        rewriter.fold(1, into: 0)
        #expect(rewriter.producer(of: r) == 0 && rewriter.producer(of: a) == nil)
        #expect(rewriter.readers(of: a).isEmpty)
        let result = rewriter.finish()
        #expect(result.ops == [Op(.binary(.add, .relu), inputs: [x, x], outputs: [r], origin: "a")])
        try verify(result)
    }

    @Test func newConstantsAreTracked() {
        var graph = Graph(name: "g")
        _ = graph.addInput(name: "x", shape: [2])
        var rewriter = GraphRewriter(graph)
        let c = rewriter.addConstant(name: "c", shape: [2], data: .float32([1, 2]))
        #expect(c == 1 && rewriter.producer(of: c) == nil && rewriter.readers(of: c).isEmpty)
    }
}
