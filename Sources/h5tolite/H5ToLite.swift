import ArgumentParser

@main
struct H5ToLite: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "h5tolite",
        abstract: "Convert Keras .h5/.keras models to TensorFlow Lite, and check the result.",
        discussion: """
        Examples:
          h5tolite convert golden/models/chexnet_nested/keras3.h5 -o chexnet.tflite
          h5tolite inspect chexnet.tflite
          h5tolite passes
        """,
        version: "0.1.0",
        subcommands: [Convert.self, Run.self, Compare.self, Inspect.self, Passes.self, ProbeKeras.self])
}
