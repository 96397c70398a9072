import Synchronization
import Testing
@testable import H5ToLiteInterpreter

/// The kernels' thread pool under jobs of changing sizes back to back, as a model's kernels give it.
@Suite struct ThreadPoolTests {
    /// Every chunk of every job runs exactly once, and none after its job has returned. A worker
    /// delayed between two jobs once claimed a chunk of the next job with the previous job's
    /// count, ran a chunk twice, and let its caller return while a chunk still ran.
    @Test func everyChunkRunsOnceWhileItsJobIsCurrent() {
        let runs = Atomic<Int>(0)
        var expected = 0
        for job in 0..<300_000 {
            let count = 1 + (job * 7919) % 64
            let seen = Mutex([Int](repeating: 0, count: count))
            parallelFor(count, threads: 2) { _, range in
                seen.withLock { for i in range { $0[i] += 1 } }
                runs.add(range.count, ordering: .relaxed)
            }
            expected += count
            seen.withLock { #expect($0.allSatisfy { $0 == 1 }, "job \(job)") }
            #expect(runs.load(ordering: .relaxed) == expected)
        }
    }
}
