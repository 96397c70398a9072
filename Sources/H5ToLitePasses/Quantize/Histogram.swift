/// A histogram of a value's elements whose bins need no range known in advance: an element's
/// bin is its float32 bit pattern's top 14 bits (sign, exponent and 5 mantissa bits), so a
/// bin spans 1/32 of a power of two and the counts of several samples, seen in any order
/// by any number of threads, add up to the same integers.
struct Histogram: Sendable, Equatable {
    /// Count per bin key, only the bins that hold something.
    private(set) var counts: [UInt16: UInt64] = [:]

    static let droppedBits: UInt32 = 18
    static let binCount = 1 << (32 - Int(droppedBits))

    init() {}

    /// Counts `values` (NaN and infinity are left out: they have no int8 form).
    init(_ values: [Float]) {
        var dense = [UInt32](repeating: 0, count: Self.binCount)
        for value in values where value.isFinite {
            dense[Int(value.bitPattern >> Self.droppedBits)] &+= 1
        }
        for (key, count) in dense.enumerated() where count > 0 {
            counts[UInt16(key)] = UInt64(count)
        }
    }

    mutating func add(_ other: Histogram) {
        counts.merge(other.counts, uniquingKeysWith: +)
    }

    /// Every bin as (the middle of its interval, count), in ascending value order.
    var bins: [(value: Double, count: Double)] {
        counts.map { key, count in (Self.middle(of: key), Double(count)) }.sorted { $0.value < $1.value }
    }

    private static func middle(of key: UInt16) -> Double {
        let low = Double(Float(bitPattern: UInt32(key) << droppedBits))
        let high = Double(Float(bitPattern: (UInt32(key) << droppedBits) | ((1 << droppedBits) - 1)))
        return (low + high) / 2
    }
}
