import H5ToLiteCore
import H5ToLiteIR

/// Operator sequences TensorFlow's converter writes for one Keras construct,
/// read back as the IR ops that construct maps to.
extension TFLiteGraphReader {
    /// The one operator reading `tensor`, when the tensor is not also a model output.
    private func soleReader(of tensor: Int) -> OperatorEntry? {
        guard !outputTensors.contains(tensor) else { return nil }
        let readers = operators.filter { $0.inputs.contains(tensor) }
        return readers.count == 1 ? readers[0] : nil
    }

    /// A dilated VALID convolution, as TensorFlow writes it:
    ///
    ///     SPACE_TO_BATCH_ND(x, block, paddings) -> CONV_2D(stride 1) -> BATCH_TO_SPACE_ND(block, crops)
    ///  -> pad(x, paddings) -> conv2d(dilation = block, valid) -> strided_slice(crops)
    ///
    /// Each batch entry of the space-to-batch form is one phase of the dilated
    /// kernel over the padded input, so the two compute the same values.
    mutating func readDilatedConvolution(_ spaceToBatch: OperatorEntry) throws {
        try spaceToBatch.expectInputs(3...3)
        let refusal = H5ToLiteError("SPACE_TO_BATCH_ND is supported only around a convolution, as TensorFlow writes dilated convolutions")
        let block = try ints(try spaceToBatch.input(1)).values
        guard let convolution = soleReader(of: try spaceToBatch.output),
              [.CONV_2D, .DEPTHWISE_CONV_2D].contains(convolution.code), convolution.inputs.first == (try spaceToBatch.output),
              let batchToSpace = soleReader(of: try convolution.output), batchToSpace.code == .BATCH_TO_SPACE_ND,
              batchToSpace.inputs.count == 3, batchToSpace.inputs[0] == (try convolution.output),
              try ints(try batchToSpace.input(1)).values == block else {
            throw refusal
        }
        let paddings = try spatialPairs(try ints(try spaceToBatch.input(2)))
        let crops = try spatialPairs(try ints(try batchToSpace.input(2)))
        guard block.count == 2, block.allSatisfy({ $0 >= 1 && $0 <= maximumElementCount }) else { throw refusal }
        absorbed.formUnion([convolution.index, batchToSpace.index])
        let output = try batchToSpace.output
        var input = try value(try spaceToBatch.input(0))
        if paddings.joined().contains(where: { $0 != 0 }) {
            input = try emitStep(.pad([[0, 0]] + paddings + [[0, 0]]), [input], output: output, suffix: "pad")
        }
        let (kind, weights) = try self.convolution(convolution, inputShape: shape(input))
        let dilated = try dilate(kind, by: block)
        guard crops.joined().contains(where: { $0 != 0 }) else {
            try emit(dilated, [input] + weights, output: output)
            return
        }
        let full = try emitStep(dilated, [input] + weights, output: output, suffix: "dilated",
                                quantization: tensors[try convolution.output].quantization)
        let fullShape = shape(full)
        let begin = [0, crops[0][0], crops[1][0], 0]
        let end = [fullShape[0], fullShape[1] - crops[0][1], fullShape[2] - crops[1][1], fullShape[3]]
        guard end[1] >= begin[1], end[2] >= begin[2] else { throw H5ToLiteError("crops \(crops) exceed \(fullShape)") }
        try emit(.stridedSlice(begin: begin, end: end, strides: [1, 1, 1, 1]), [full], output: output)
    }

    private func spatialPairs(_ tensor: IntTensor) throws -> [[Int]] {
        guard tensor.shape == [2, 2], tensor.values.allSatisfy({ $0 >= 0 && $0 <= maximumElementCount }) else {
            throw H5ToLiteError("paddings/crops of shape \(tensor.shape) with values \(tensor.values) are not supported")
        }
        return [Array(tensor.values[0..<2]), Array(tensor.values[2..<4])]
    }
}

/// A convolution's kind with its dilation set to `block`; it must have been a
/// plain stride-1, undilated, VALID convolution.
private func dilate(_ kind: OpKind, by block: [Int]) throws -> OpKind {
    func dilated(_ window: Window) throws -> Window {
        guard window.stride == [1, 1], window.dilation == [1, 1], window.padding == .valid else {
            throw H5ToLiteError("a convolution between SPACE_TO_BATCH_ND and BATCH_TO_SPACE_ND must have stride 1, no dilation and VALID padding")
        }
        var result = window
        result.dilation = block
        return result
    }
    switch kind {
    case .conv2d(let window, let activation):
        return .conv2d(try dilated(window), activation)
    case .depthwiseConv2d(let window, let multiplier, let activation):
        return .depthwiseConv2d(try dilated(window), multiplier: multiplier, activation)
    default:
        throw H5ToLiteError("expected a convolution, found \(kind.name)")
    }
}
