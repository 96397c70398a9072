import Testing
import H5ToLiteCore
@testable import H5ToLiteIR

@Suite struct TransposeConvolutionShapeTests {
    @Test func outputSizeIsTheAttributeWithTheFiltersChannels() throws {
        let same = OpKind.transposeConv2d(Window(stride: [2, 2], padding: .same), outputSize: [16, 15], .none)
        #expect(try inferShape(same, inputs: [[1, 8, 8, 3], [4, 3, 3, 3], [4]]) == [1, 16, 15, 4])
        let valid = OpKind.transposeConv2d(Window(stride: [3, 3], padding: .valid), outputSize: [27, 27], .none)
        #expect(try inferShape(valid, inputs: [[1, 8, 8, 3], [2, 4, 4, 3]]) == [1, 27, 27, 2])
    }

    @Test func anOutputTheForwardConvolutionDoesNotMapBackIsAnError() {
        // ceil(18 / 2) = 9, not the input's 8.
        #expect(throws: H5ToLiteError.self) {
            try inferShape(.transposeConv2d(Window(stride: [2, 2], padding: .same), outputSize: [18, 16], .none),
                           inputs: [[1, 8, 8, 3], [4, 3, 3, 3]])
        }
        #expect(throws: H5ToLiteError.self) {
            try inferShape(.transposeConv2d(Window(stride: [2, 2], padding: .same), outputSize: [16, 16], .none),
                           inputs: [[1, 8, 8, 3], [4, 3, 3, 5]])
        }
        #expect(throws: H5ToLiteError.self) {
            try inferShape(.transposeConv2d(Window(stride: [2, 2], dilation: [2, 2], padding: .same), outputSize: [16, 16], .none),
                           inputs: [[1, 8, 8, 3], [4, 3, 3, 3]])
        }
    }

    @Test func textFormRoundTrips() throws {
        let text = """
        graph "t" {
          input %0 "x": f32[1,2,2,1]
          const %1 "k": f32[1,2,2,1] [1.0, 2.0, 3.0, 4.0]
          %2 "up": f32[1,4,4,1] = transpose_conv2d(%0, %1) {stride=2x2 dilation=1x1 padding=same output_size=[4,4] activation=relu}
          output %2
        }

        """
        let graph = try parseGraph(text)
        #expect(printGraph(graph, fullConstants: true) == text)
    }
}
