import Testing
import H5ToLiteCore
@testable import H5ToLiteIR

/// CONV_3D's output size follows TFLite's rule per axis: SAME gives ceil(size / stride),
/// VALID ceil((size - dilated kernel + 1) / stride); the channels are the filter's last axis.
@Suite struct Convolution3DShapeTests {
    @Test func outputFollowsTFLitesRulePerAxis() throws {
        let same = OpKind.conv3d(Window(stride: [1, 2, 2], dilation: [1, 1, 1], padding: .same), .relu)
        #expect(try inferShape(same, inputs: [[1, 8, 16, 15, 1], [3, 3, 3, 1, 8], [8]]) == [1, 8, 8, 8, 8])
        let valid = OpKind.conv3d(Window(stride: [2, 1, 2], dilation: [1, 1, 1], padding: .valid), .none)
        #expect(try inferShape(valid, inputs: [[1, 6, 8, 7, 2], [3, 2, 1, 2, 3]]) == [1, 2, 7, 4, 3])
        let dilated = OpKind.conv3d(Window(stride: [1, 1, 1], dilation: [1, 2, 3], padding: .valid), .none)
        #expect(try inferShape(dilated, inputs: [[2, 5, 9, 9, 4], [3, 3, 3, 4, 5]]) == [2, 3, 5, 3, 5])
    }

    @Test func mismatchedOperandsAreErrors() {
        let kind = OpKind.conv3d(Window(stride: [1, 1, 1], dilation: [1, 1, 1], padding: .valid), .none)
        // The filter's input channels (axis 3) must be the input's.
        #expect(throws: H5ToLiteError.self) { try inferShape(kind, inputs: [[1, 4, 4, 4, 2], [3, 3, 3, 1, 4]]) }
        // Volumes only, with a rank-5 filter.
        #expect(throws: H5ToLiteError.self) { try inferShape(kind, inputs: [[1, 4, 4, 2], [3, 3, 2, 4]]) }
        #expect(throws: H5ToLiteError.self) { try inferShape(kind, inputs: [[1, 4, 4, 4, 2], [3, 3, 2, 4]]) }
        // Three strides and dilations, and a window that fits.
        let twoStrides = OpKind.conv3d(Window(stride: [1, 1], dilation: [1, 1, 1], padding: .valid), .none)
        #expect(throws: H5ToLiteError.self) { try inferShape(twoStrides, inputs: [[1, 4, 4, 4, 2], [3, 3, 3, 2, 4]]) }
        #expect(throws: H5ToLiteError.self) { try inferShape(kind, inputs: [[1, 2, 4, 4, 2], [3, 3, 3, 2, 4]]) }
    }

    @Test func textFormRoundTrips() throws {
        let text = """
        graph "t" {
          input %0 "x": f32[1,2,3,3,1]
          const %1 "k": f32[1,2,2,1,1] [1.0, 2.0, 3.0, 4.0]
          %2 "conv": f32[1,2,2,1,1] = conv3d(%0, %1) {stride=1x1x2 dilation=1x1x1 padding=valid activation=relu6}
          output %2
        }

        """
        let graph = try parseGraph(text)
        #expect(graph.ops[0].kind == .conv3d(Window(stride: [1, 1, 2], dilation: [1, 1, 1], padding: .valid), .relu6))
        #expect(printGraph(graph, fullConstants: true) == text)
        // A conv3d window needs three strides and dilations.
        #expect(throws: H5ToLiteError.self) { try parseGraph(text.replacingOccurrences(of: "stride=1x1x2", with: "stride=1x2")) }
    }
}
