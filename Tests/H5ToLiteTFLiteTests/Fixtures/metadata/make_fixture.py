"""Writes official_image_classifier.tflite: golden pruned_tfmot's TensorFlow file (16x16x3
image in, 4 softmax classes out) with metadata written by tflite-support's own image
classifier writer, so the Swift reader is tested on a file the official writer made.

    pip install tflite-support   # 0.4.4; needs libusb-1.0-0 on Debian
    python Tests/H5ToLiteTFLiteTests/Fixtures/metadata/make_fixture.py

The values given to the writer are in fixture.json, which the Swift test reads back."""
import json
import pathlib

from tflite_support.metadata_writers import image_classifier, writer_utils

HERE = pathlib.Path(__file__).parent
ROOT = HERE.parents[3]
VALUES = {
    "mean": [123.675, 116.28, 103.53],
    "std": [58.395, 57.12, 57.375],
    "labels": ["cat", "dog", "bird", "fish"],
}

labels = HERE / "labels.txt"
labels.write_text("\n".join(VALUES["labels"]) + "\n")
writer = image_classifier.MetadataWriter.create_for_inference(
    writer_utils.load_file(str(ROOT / "golden/models/pruned_tfmot/tf.tflite")),
    input_norm_mean=VALUES["mean"], input_norm_std=VALUES["std"], label_file_paths=[str(labels)])
writer_utils.save_file(writer.populate(), str(HERE / "official_image_classifier.tflite"))
labels.unlink()
(HERE / "fixture.json").write_text(json.dumps(
    dict(VALUES, metadata=json.loads(writer.get_metadata_json())), indent=1) + "\n")
