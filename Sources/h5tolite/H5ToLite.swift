import ArgumentParser

@main
struct H5ToLite: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "h5tolite",
        abstract: "Convert Keras .h5/.keras models to TensorFlow Lite, and check the result.",
        discussion: """
        Examples:
          h5tolite convert model.h5 -o model.tflite --verify
          h5tolite convert model.h5 -o model-int8.tflite --quantize int8 --calibration images/ --preprocess torch
          h5tolite run model.tflite --input x.npy --output y.npy
          h5tolite compare model.h5 --data test/ --labels labels.csv --preprocess torch --out results/
          h5tolite inspect model.tflite
          h5tolite passes
          h5tolite convert model.h5 -o model.ir --stop-after fold-batchnorm
          h5tolite opt model.ir --pass fuse-activations,fold-padding -o fused.ir
        """,
        version: "0.1.0",
        subcommands: [Convert.self, Run.self, Bench.self, Compare.self, Inspect.self, Passes.self, Opt.self, ReadKeras.self])
}
