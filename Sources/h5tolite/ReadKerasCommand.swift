import ArgumentParser
import H5ToLiteDriver

/// The child process of `loadKerasFileIsolated`: h5tolite itself never calls libhdf5.
struct ReadKeras: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "read-keras", shouldDisplay: false)

    @Argument var file: String
    @Argument var transfer: String

    func run() throws {
        try readKerasForParent(file: file, transfer: transfer)
    }
}
