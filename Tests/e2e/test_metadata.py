"""TFLite metadata written by h5tolite, read by the official readers: tflite-support's
MetadataDisplayer and MediaPipe's ImageClassifier, with LiteRT as the referee for scores.

The model is the trained CheXNet-shaped golden model (torch preprocessing, 14 sigmoid
findings) with the finding names of its labels CSV, in float32 and int8."""
import json
import zlib

import numpy as np
import pytest

from conftest import GOLDEN, ROOT, h5tolite

MODEL = GOLDEN / "chexnet_trained" / "keras3.h5"
DATA = ROOT / "golden" / "data" / "chexnet"
IMAGES = [DATA / "test" / "test_0000.png", DATA / "test" / "test_0007.png"]
# keras.applications' torch preprocess_input: ImageNet mean and std on 0..1 pixels.
TORCH_MEAN = np.array([0.485, 0.456, 0.406], np.float32)
TORCH_STD = np.array([0.229, 0.224, 0.225], np.float32)
MODES = {"float32": [], "int8": ["--quantize", "int8", "--calibration", DATA / "calibration"]}


def class_names():
    return (DATA / "test_labels.csv").read_text().splitlines()[0].split(",")[1:]


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    """mode -> (file with per-channel normalization metadata, file with it in the model)."""
    folder = tmp_path_factory.mktemp("metadata")
    names = folder / "classes.txt"
    names.write_text("\n".join(class_names()) + "\n")
    files = {}
    for mode, flags in MODES.items():
        plain = folder / f"{mode}.tflite"
        h5tolite("convert", MODEL, "-o", plain, "--preprocess", "torch", *flags, "--class-names", names,
                 "--metadata-author", "h5tolite tests", "--metadata-license", "Apache-2.0")
        embedded = folder / f"{mode}-in-model.tflite"
        h5tolite("convert", MODEL, "-o", embedded, "--preprocess", "torch", *flags, "--class-names", names,
                 "--normalization-in-model")
        files[mode] = (plain, embedded)
    return files


def pixels(path):
    """The 8-bit gray PNG's pixels as an RGB uint8 array, decoded with zlib (filter types 0-4)."""
    data = path.read_bytes()
    position, chunks, header = 8, b"", None
    while position < len(data):
        length = int.from_bytes(data[position:position + 4], "big")
        kind = data[position + 4:position + 8]
        body = data[position + 8:position + 8 + length]
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            chunks += body
        position += 12 + length
    width, height = int.from_bytes(header[0:4], "big"), int.from_bytes(header[4:8], "big")
    assert header[8] == 8 and header[9] == 0, "an 8-bit grayscale PNG"
    raw = zlib.decompress(chunks)
    rows, previous = [], bytearray(width)
    for row in range(height):
        kind, line = raw[row * (width + 1)], bytearray(raw[row * (width + 1) + 1:(row + 1) * (width + 1)])
        for x in range(width):
            left = line[x - 1] if x else 0
            up, corner = previous[x], previous[x - 1] if x else 0
            if kind == 1:
                line[x] = (line[x] + left) & 255
            elif kind == 2:
                line[x] = (line[x] + up) & 255
            elif kind == 3:
                line[x] = (line[x] + (left + up) // 2) & 255
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                line[x] = (line[x] + (left if pa <= pb and pa <= pc else up if pb <= pc else corner)) & 255
        rows.append(bytes(line))
        previous = line
    gray = np.frombuffer(b"".join(rows), np.uint8).reshape(height, width)
    return np.repeat(gray[..., None], 3, axis=2)


def litert(path, x, reference=False):
    """LiteRT's output for one sample; `reference`: its reference kernels, which h5tolite's
    int8 kernels match bit for bit (the default XNNPACK ones round ties differently)."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType
    resolver = OpResolverType.BUILTIN_REF if reference else OpResolverType.AUTO
    interpreter = Interpreter(model_path=str(path), experimental_op_resolver_type=resolver)
    interpreter.allocate_tensors()
    interpreter.set_tensor(interpreter.get_input_details()[0]["index"], x[None])
    interpreter.invoke()
    return interpreter.get_tensor(interpreter.get_output_details()[0]["index"])[0]


def torch_preprocessed(image):
    return ((image.astype(np.float32) / 255 - TORCH_MEAN) / TORCH_STD).astype(np.float32)


@pytest.mark.parametrize("mode", MODES)
def test_metadata_displayer_reads_the_metadata(mode, converted):
    from tflite_support import metadata
    plain, _ = converted[mode]
    displayer = metadata.MetadataDisplayer.with_model_file(str(plain))
    model = json.loads(displayer.get_metadata_json())
    assert model["name"] == "sequential"  # the Keras model's name
    assert model["author"] == "h5tolite tests" and model["license"] == "Apache-2.0"
    assert model["min_parser_version"] == "1.0.0"
    subgraph = model["subgraph_metadata"][0]
    image = subgraph["input_tensor_metadata"][0]
    assert image["content"]["content_properties_type"] == "ImageProperties"
    assert image["content"]["content_properties"] == {"color_space": "RGB", "default_size": {"width": 64, "height": 64}}
    unit = image["process_units"][0]
    assert unit["options_type"] == "NormalizationOptions"
    np.testing.assert_allclose(unit["options"]["mean"], TORCH_MEAN * 255, rtol=1e-6)
    np.testing.assert_allclose(unit["options"]["std"], TORCH_STD * 255, rtol=1e-6)
    scores = subgraph["output_tensor_metadata"][0]
    assert "sigmoid" in scores["description"]
    assert scores["stats"] == {"max": [1.0], "min": [0.0]}
    assert scores["associated_files"][0]["name"] == "labels.txt"
    assert scores["associated_files"][0]["type"] == "TENSOR_AXIS_LABELS"
    assert displayer.get_packed_associated_file_list() == ["labels.txt"]
    assert displayer.get_associated_file_buffer("labels.txt").decode().splitlines() == class_names()


@pytest.mark.parametrize("mode", MODES)
def test_metadata_leaves_the_model_as_litert_runs_it(mode, converted, tmp_path):
    plain, _ = converted[mode]
    bare = tmp_path / "bare.tflite"
    h5tolite("convert", MODEL, "-o", bare, "--preprocess", "torch", *MODES[mode])
    x = torch_preprocessed(pixels(IMAGES[0]))
    assert np.array_equal(litert(plain, x), litert(bare, x))


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("image", IMAGES, ids=lambda p: p.stem)
def test_mediapipe_classifies_with_the_labels_and_litert_scores(mode, image, converted):
    import mediapipe as mp
    from mediapipe.tasks.python import BaseOptions, vision
    plain, embedded = converted[mode]
    rgb = pixels(image)
    options = vision.ImageClassifierOptions(base_options=BaseOptions(model_asset_path=str(embedded)), max_results=-1)
    with vision.ImageClassifier.create_from_options(options) as classifier:
        categories = classifier.classify(mp.Image(image_format=mp.ImageFormat.SRGB, data=rgb)).classifications[0].categories
    got = {c.category_name: c.score for c in categories}
    # LiteRT on the file without the scaling inside, fed torch-preprocessed pixels.
    expected = dict(zip(class_names(), litert(plain, torch_preprocessed(rgb)).tolist()))
    assert sorted(got) == sorted(expected)
    # int8: the model's own float scaling may round an input to the other side of a quantization
    # step than numpy's did (measured: no difference on these images; float32 3.6e-7).
    tolerance = 1e-5 if mode == "float32" else 1e-3
    for name, score in expected.items():
        assert abs(got[name] - score) <= tolerance, (name, got[name], score)
    # And exactly what LiteRT gives on the same file and the same (raw) pixels.
    raw = dict(zip(class_names(), litert(embedded, rgb.astype(np.float32)).tolist()))
    assert [c.category_name for c in categories] == sorted(raw, key=lambda n: -raw[n])
    for name, score in raw.items():
        assert abs(got[name] - score) <= 1e-5, (name, got[name], score)


def test_mediapipe_refuses_per_channel_normalization(converted):
    """Why --normalization-in-model exists: MediaPipe takes one mean and std for all channels."""
    from mediapipe.tasks.python import BaseOptions, vision
    plain, _ = converted["float32"]
    options = vision.ImageClassifierOptions(base_options=BaseOptions(model_asset_path=str(plain)))
    with pytest.raises(Exception, match="Per-channel image normalization is not available"):
        vision.ImageClassifier.create_from_options(options)


@pytest.mark.parametrize("mode", MODES)
def test_run_image_prints_the_labels_litert_ranks_first(mode, converted):
    from tflite_support import metadata
    plain, _ = converted[mode]
    model = json.loads(metadata.MetadataDisplayer.with_model_file(str(plain)).get_metadata_json())
    scaling = model["subgraph_metadata"][0]["input_tensor_metadata"][0]["process_units"][0]["options"]
    x = (pixels(IMAGES[0]).astype(np.float32) - np.float32(scaling["mean"])) / np.float32(scaling["std"])
    scores = litert(plain, x.astype(np.float32), reference=True)
    order = np.argsort(-scores, kind="stable")[:3]
    lines = h5tolite("run", plain, "--image", IMAGES[0], "--top", "3").stdout.splitlines()
    assert [line.split(maxsplit=1)[1] for line in lines] == [class_names()[i] for i in order]
    for line, index in zip(lines, order):
        assert abs(float(line.split()[0]) - scores[index]) <= 1e-5


def test_inspect_lists_the_metadata_and_files(converted):
    _, embedded = converted["float32"]
    out = h5tolite("inspect", embedded).stdout
    assert "metadata 'sequential'" in out
    assert "input 'sequential_input': image RGB 64x64, normalization mean [0.0] std [1.0]" in out
    assert "TENSOR_AXIS_LABELS labels.txt" in out
    assert "associated file labels.txt" in out
    header = json.loads(h5tolite("inspect", embedded, "--json").stdout)["header"]
    assert header["metadata"]["associatedFiles"][0]["name"] == "labels.txt"


def test_max_drop_labels_csv_names_the_classes(tmp_path):
    out = tmp_path / "m.tflite"
    h5tolite("convert", MODEL, "-o", out, "--quantize", "int8", "--calibration", DATA / "calibration",
             "--preprocess", "torch", "--max-drop", "0.5", "--data", DATA / "test", "--labels", DATA / "test_labels.csv",
             "--metadata")
    from tflite_support import metadata
    displayer = metadata.MetadataDisplayer.with_model_file(str(out))
    assert displayer.get_associated_file_buffer("labels.txt").decode().splitlines() == class_names()


def test_refusals_are_one_line(tmp_path):
    out = tmp_path / "x.tflite"
    three = tmp_path / "three.txt"
    three.write_text("\n".join(class_names()[:3]) + "\n")
    for flags, words in [(["--metadata"], "--preprocess"),
                         (["--metadata", "--preprocess", "caffe"], "BGR"),
                         (["--class-names", three, "--preprocess", "torch"], "names 3 classes; output 'dense' has 14 values")]:
        result = h5tolite("convert", MODEL, "-o", out, *flags, check=False)
        assert result.returncode == 1 and len(result.stderr.strip().splitlines()) == 1 and words in result.stderr
        assert not out.exists()


def damaged(source, tmp_path):
    """Copies of a file with metadata, each damaged in one way the reader must name."""
    data = bytearray(source.read_bytes())
    meta = data.index(b"M001") - 4
    labels = data.index(b"Atelectasis\nCardiomegaly")
    cases = {"identifier": (meta + 4, b"X"), "root offset": (meta, b"\xff\xff\xff\x7f"),
             "label bytes": (labels, b"a"), "zip directory": (len(data) - 6, b"\xff\xff\xff\x7f"),
             "zip signature": (len(data) - 22, b"PK\x05\x07")}
    rng = np.random.default_rng(17)
    for index in range(20):
        cases[f"metadata byte {index}"] = (int(meta + rng.integers(0, labels - meta - 200)), bytes([int(rng.integers(0, 256))]))
    for name, (at, patch) in cases.items():
        copy = bytearray(data)
        copy[at:at + len(patch)] = patch
        path = tmp_path / f"{name.replace(' ', '_')}.tflite"
        path.write_bytes(bytes(copy))
        yield name, path


def test_damaged_metadata_is_a_one_line_error(converted, tmp_path):
    plain, _ = converted["float32"]
    failures = 0
    for name, path in damaged(plain, tmp_path):
        for args in (["inspect", path], ["run", path, "--image", IMAGES[0]]):
            result = h5tolite(*args, check=False)
            assert result.returncode in (0, 1), (name, result.returncode, result.stderr)
            if result.returncode == 1:
                failures += 1
                lines = result.stderr.strip().splitlines()
                assert len(lines) == 1 and str(path) in lines[0], (name, result.stderr)
    assert failures >= 10
