import Foundation
import ZIPFoundation

/// Size of `bytes` as `gzip -9`-like deflate would store them: the figure that shows what
/// pruning saves, since zeroed weights only shrink a file once it is compressed.
public func gzipSize(_ bytes: [UInt8]) throws -> Int {
    let data = Data(bytes)
    var compressed = 0
    _ = try Data.compress(size: Int64(data.count), bufferSize: 1 << 16, provider: { position, size in
        data.subdata(in: Int(position)..<Int(position) + size)
    }, consumer: { chunk in
        compressed += chunk.count
    })
    // A gzip member adds a 10-byte header and an 8-byte trailer to the deflate stream.
    return compressed + 18
}
