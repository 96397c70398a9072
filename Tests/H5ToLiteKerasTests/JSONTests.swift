import Testing
@testable import H5ToLiteKeras

/// The model-config reader's string escapes, including what the config fuzzer found.
@Suite struct JSONTests {
    @Test(arguments: [
        (#"["\ud83d\ude00"]"#, "\u{1F600}"),  // a surrogate pair
        (#"["\ud800\u0041"]"#, "\u{FFFD}A"),  // a high surrogate, then no low one
        (#"["\udc00x"]"#, "\u{FFFD}x"),  // a lone low surrogate
        (#"["\u00e9\n"]"#, "é\n"),
    ])
    func unicodeEscapes(text: String, expected: String) throws {
        #expect(try JSON.parse(text).array?.first?.string == expected)
    }

    /// FuzzKerasConfig's find: `\uda6a` followed by `\uda6a` made the pair's subtraction
    /// overflow and trap. Now it parses or throws, like any other text.
    @Test func highSurrogateBeforeAnotherHighSurrogateDoesNotTrap() throws {
        let bytes: [UInt8] = [
            0x7B, 0x22, 0x16, 0x5C, 0x75, 0x64, 0x61, 0x36, 0x61, 0x5C, 0x36, 0xFF, 0x64, 0x32, 0x5C, 0xFF,
            0x5C, 0x75, 0x64, 0x61, 0x36, 0x61, 0x5C, 0x75, 0x64, 0x61, 0x36, 0x61, 0x5C, 0x75, 0x64, 0x64,
            0x36, 0x32, 0x61, 0x20, 0x75, 0xF1, 0xF1, 0xF1, 0xF1, 0xF1, 0x61, 0x2F,
        ]
        #expect(throws: (any Error).self) { try checkModelConfig(String(decoding: bytes, as: UTF8.self)) }
        #expect(try JSON.parse(#"["\uda6a\uda6a"]"#).array?.first?.string == "\u{FFFD}\u{FFFD}")
    }

    @Test func badEscapesAreErrors() {
        for text in [#"["\u12"]"#, #"["\u+123"]"#, #"["\uzzzz"]"#] {
            #expect(throws: (any Error).self) { try JSON.parse(text) }
        }
    }
}
