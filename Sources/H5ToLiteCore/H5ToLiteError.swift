/// The one error type of h5tolite: it names the file and the layer or field it is about,
/// when known, and prints as one line:
/// `FILE: layer 'conv1': kernel has shape [3,3,3,8], the config needs [3,3,3,16]`.
public struct H5ToLiteError: Error, CustomStringConvertible, Equatable {
    public var file: String?
    public var location: String?
    public var message: String

    public init(file: String? = nil, location: String? = nil, _ message: String) {
        self.file = file
        self.location = location
        self.message = message
    }

    public var description: String {
        oneLine([file, location, message].compactMap { $0 }.joined(separator: ": "))
    }

    /// The same error with a location (a layer, a field) added if it had none.
    public func at(_ location: String) -> H5ToLiteError {
        var copy = self
        if copy.location == nil { copy.location = location }
        return copy
    }

    public func inFile(_ file: String) -> H5ToLiteError {
        var copy = self
        if copy.file == nil { copy.file = file }
        return copy
    }
}

/// Errors are one line: control characters from a file (a layer name holding a newline)
/// are shown escaped instead of breaking the line.
public func oneLine(_ text: String) -> String {
    var result = ""
    for scalar in text.unicodeScalars {
        if scalar.properties.generalCategory == .control {
            result += scalar == "\n" ? "\\n" : "\\u{\(String(scalar.value, radix: 16))}"
        } else {
            result.unicodeScalars.append(scalar)
        }
    }
    return result
}
