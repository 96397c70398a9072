import Foundation
import Testing
import H5ToLiteCore
import H5ToLiteIR
import H5ToLiteInterpreter
import H5ToLiteKeras
@testable import H5ToLitePasses

/// The channel-group analysis on the golden cases' graphs, and channel pruning checked
/// against what it promises: the multiply-adds it removes and outputs unchanged by the cut.
@Suite struct ChannelPruningTests {
    func goldenGraph(_ name: String) throws -> Graph {
        try parseGraph(try String(contentsOf: passGolden.appendingPathComponent("slice-channels/\(name).ir"), encoding: .utf8))
    }

    /// The groups as "producers: size, prunable or not, readers", by Keras layer.
    func describe(_ graph: Graph) -> [String] {
        analyzeChannels(graph).groups.filter { !$0.producers.isEmpty }.map { group in
            let readers = group.consumers.map { graph.ops[$0].origin }.joined(separator: ",")
            return "\(groupName(group, graph)): \(group.size) \(group.prunable ? "prunable" : "kept") -> \(readers)"
        }
    }

    @Test func denseNetBlockGrowthAndBottleneckChannels() throws {
        #expect(describe(try goldenGraph("densenet_block")) == [
            "conv0_conv: 4 prunable -> block_1_1_conv,block_2_1_conv,dense",
            "block_1_1_conv: 6 prunable -> block_1_2_conv",
            "block_1_2_conv: 3 prunable -> block_2_1_conv,dense",
            "block_2_1_conv: 6 prunable -> block_2_2_conv",
            "block_2_2_conv: 3 prunable -> dense",
            "dense: 3 kept -> ",
        ])
    }

    @Test func residualAddsTieTheirOperands() throws {
        #expect(describe(try goldenGraph("residual_add")) == ["a+b+c: 5 prunable -> b,c,dense", "dense: 2 kept -> "])
    }

    @Test func depthwiseAndPerChannelConstantsPassChannelsThrough() throws {
        #expect(describe(try goldenGraph("depthwise")) == [
            "expand: 6 prunable -> project", "project: 3 prunable -> dense", "dense: 2 kept -> ",
        ])
    }

    @Test func aGraphOutputIsNeverPruned() throws {
        #expect(describe(try goldenGraph("concat")) == [
            "a: 4 prunable -> c", "b: 3 kept -> c", "c: 4 prunable -> dense", "dense: 2 kept -> ",
        ])
    }

    /// A reshape (Flatten before a dense layer) reorders channels with space: what flows into it stays.
    @Test func anOpTheAnalysisDoesNotKnowKeepsItsChannels() throws {
        var graph = Graph(name: "flatten")
        let input = graph.addInput(name: "input", shape: [1, 2, 2, 1])
        let kernel = graph.addConstant(name: "conv/kernel", shape: [3, 1, 1, 1], data: .float32([1, 2, 3]))
        let conv = try graph.addOp(.conv2d(Window(padding: .same), .relu), inputs: [input, kernel], name: "conv", origin: "conv")
        let flat = try graph.addOp(.reshape([1, 12]), inputs: [conv], name: "flatten", origin: "flatten")
        let weights = graph.addConstant(name: "dense/kernel", shape: [2, 12], data: .float32((0..<24).map(Float.init)))
        graph.outputs = [try graph.addOp(.fullyConnected(.none), inputs: [flat, weights], name: "dense", origin: "dense")]
        #expect(describe(graph) == ["conv: 3 kept -> ", "dense: 2 kept -> "])
    }

    /// A layer of 32 channels or more keeps a multiple of 8 (runtimes' kernel tiles); a smaller
    /// one any count.
    @Test func wideLayersKeepMultiplesOfEight() throws {
        var graph = Graph(name: "wide")
        let input = graph.addInput(name: "input", shape: [1, 4, 4, 3])
        let samples = seededNormalSamples(shape: [4, 4, 3], count: 8)
        var layer = input
        for (index, (inputs, outputs)) in [(3, 64), (64, 12), (12, 40), (40, 2)].enumerated() {
            let weights = seededNormalSamples(shape: [outputs, 1, 1, inputs], count: 1).data
            let kernel = graph.addConstant(name: "conv\(index)/kernel", shape: [outputs, 1, 1, inputs], data: .float32(weights))
            let activation: FusedActivation = outputs == 2 ? .none : .relu
            layer = try graph.addOp(.conv2d(Window(padding: .same), activation), inputs: [layer, kernel], name: "conv\(index)", origin: "conv\(index)")
        }
        graph.outputs = [layer]
        var options = PipelineOptions(calibration: [samples])
        options.channelPruning = ChannelPruningOptions(fraction: 0.3, recovery: .none)
        let context = PassContext(options: options)
        let sliced = try runPipeline(graph, passes: [pruneChannels, sliceChannels, deadCodeElimination], context: context)
        let kept = sliced.ops.filter { if case .conv2d = $0.kind { true } else { false } }.map { sliced[$0.outputs[0]].shape.last! }
        #expect(kept.count == 4 && kept.last == 2)
        #expect(kept[0] % 8 == 0 && kept[0] < 64 && kept[2] % 8 == 0, "kept \(kept)")
        #expect(1 - Double(multiplyAdds(sliced)) / Double(multiplyAdds(graph)) >= 0.3)
    }

    /// On real models: the chosen channels remove the asked share of multiply-adds (not much
    /// more, given
    /// the minis' few channels), and cutting them out of the tensors leaves every output as the zeroed graph had it.
    @Test(arguments: ["mini_densenet", "mini_mobilenetv2", "mini_inception", "mini_efficientnet", "chexnet_nested"])
    func slicingRemovesTheMultiplyAddsAndKeepsTheOutputs(model: String) throws {
        let folder = repository.appendingPathComponent("golden/models/\(model)")
        let imported = try importKeras(try loadKerasModel(path: folder.appendingPathComponent("keras3.h5").path))
        let inputs = try readNPY(path: folder.appendingPathComponent("input.npy").path)
        let samples = seededNormalSamples(shape: Array(imported[imported.inputs[0]].shape.dropFirst()), count: 8)
        var options = PipelineOptions(calibration: [samples])
        options.channelPruning = ChannelPruningOptions(fraction: 0.3, recovery: .none)
        let context = PassContext(options: options)
        let zeroed = try runPipeline(imported, passes: [removeInferenceNoops, constantFolding, pruneChannels], context: context)
        let sliced = try runPipeline(zeroed, passes: [sliceChannels, deadCodeElimination], context: context)
        let removed = 1 - Double(multiplyAdds(sliced)) / Double(multiplyAdds(imported))
        // One channel of these minis' 4- and 8-channel layers is several percent of the model.
        #expect(removed >= 0.3 && removed < 0.37, "\(model): \(removed) of the multiply-adds removed")
        #expect(sliced.parameterCount < imported.parameterCount)
        let expected = try Interpreter(graph: zeroed).run([inputs])[0]
        #expect(maxRelativeError(try Interpreter(graph: sliced).run([inputs])[0], expected) <= 1e-5)
    }
}
