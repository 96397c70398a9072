import Testing
@testable import H5ToLiteData

@Suite struct ProgressBarTests {
    @Test func drawsDoneOverTotal() {
        let bar = ProgressBar(label: "calibrating", width: 10, enabled: false)
        #expect(bar.line(16, 32) == "calibrating [#####.....] 16/32")
        #expect(bar.line(0, 32) == "calibrating [..........] 0/32")
        #expect(bar.line(32, 32) == "calibrating [##########] 32/32")
    }

    @Test func clampsOutOfRangeCounts() {
        let bar = ProgressBar(label: "x", width: 4, enabled: false)
        #expect(bar.line(9, 3) == "x [####] 3/3")
        #expect(bar.line(-1, 3) == "x [....] 0/3")
        #expect(bar.line(0, 0) == "x [####] 0/0")
    }
}
