import Testing
import H5ToLiteCore
import H5ToLiteIR
import H5ToLiteTFLite

@Suite struct OpEncodingTests {
    @Test func anOpWithoutATFLiteFormIsAOneLineError() throws {
        var graph = Graph(name: "g")
        let x = graph.addInput(name: "x", shape: [1, 4])
        graph.outputs = [try graph.addOp(.identity, inputs: [x], name: "y", origin: "dropout")]
        let expected = H5ToLiteError(location: "layer 'dropout'", "op identity has no TFLite form; a pass must lower it before writing")
        #expect(throws: expected) { try writeTFLite(graph) }
    }
}
