"""Volumes (Conv3D, 3D pooling, UpSampling3D): TFLite's CONV_3D as TensorFlow writes it where
its converter converts the model, builtin ops only where it needs Flex ops (3D pooling)."""
import numpy as np
import pytest
from ai_edge_litert.interpreter import Interpreter

from conftest import GOLDEN, h5tolite, tensorflow_refusal
from test_convert import decode_with_flatc
from test_interpreter import run_litert_reference, run_ours

VOLUME_MODELS = ["layers_conv3d", "layers_pool3d", "mini_ct3d"]


def op_versions(path, tmp_path):
    decoded = decode_with_flatc(path, tmp_path)
    runtime = next(m["buffer"] for m in decoded["metadata"] if m["name"] == "min_runtime_version")
    codes = {code.get("builtin_code", "ADD"): code.get("version", 1) for code in decoded["operator_codes"]}
    return codes, bytes(decoded["buffers"][runtime]["data"]).rstrip(b"\0").decode()


def test_op_versions_and_runtime_are_tensorflows(tmp_path):
    """CONV_3D at version 1, rank-5 PAD and STRIDED_SLICE at version 4, min_runtime_version 2.6.0:
    every op both files use has TensorFlow's version."""
    ours = tmp_path / "ours.tflite"
    h5tolite("convert", GOLDEN / "layers_conv3d" / "keras3.h5", "-o", ours)
    (our_codes, our_runtime) = op_versions(ours, tmp_path)
    (their_codes, their_runtime) = op_versions(GOLDEN / "layers_conv3d" / "tf.tflite", tmp_path)
    shared = set(our_codes) & set(their_codes)
    assert {"CONV_3D", "PAD", "STRIDED_SLICE"} <= shared
    assert {code: our_codes[code] for code in shared} == {code: their_codes[code] for code in shared}
    assert our_runtime == their_runtime


@pytest.mark.parametrize("model", ["layers_pool3d", "mini_ct3d"])
def test_models_tensorflow_refuses_convert_to_builtin_ops(model, tmp_path):
    assert "MaxPool3D" in tensorflow_refusal(model) and not (GOLDEN / model / "tf.tflite").exists()
    out = tmp_path / "m.tflite"
    h5tolite("convert", GOLDEN / model / "keras3.h5", "-o", out)
    codes, _ = op_versions(out, tmp_path)
    assert "CUSTOM" not in codes and {"MAX_POOL_2D", "AVERAGE_POOL_2D", "RESHAPE"} <= set(codes)


@pytest.mark.parametrize("model", VOLUME_MODELS)
def test_int8_keeps_conv3d_in_float_and_matches_reference_kernels(model, tmp_path):
    """LiteRT's CONV_3D has no int8 kernel: our int8 file keeps it float32 between DEQUANTIZE
    and QUANTIZE; the rest runs in int8 exactly as TFLite's reference kernels compute it."""
    folder = GOLDEN / model
    out = tmp_path / "int8.tflite"
    h5tolite("convert", folder / "keras3.h5", "-o", out, "--quantize", "int8", "--calibration", folder / "calibration.npy")
    interpreter = Interpreter(model_path=str(out))
    interpreter.allocate_tensors()
    tensors = {t["index"]: t for t in interpreter.get_tensor_details()}
    ops = interpreter._get_ops_details()
    integer_ops = [op for op in ops if op["op_name"] not in ("QUANTIZE", "DEQUANTIZE")
                   and tensors[op["outputs"][0]]["dtype"] == np.int8]
    assert integer_ops
    for op in ops:
        if op["op_name"] == "CONV_3D":
            assert all(tensors[i]["dtype"] == np.float32 for i in op["inputs"] if i >= 0)
    inputs = np.load(folder / "input.npy")
    ours = run_ours(out, inputs, tmp_path)
    assert np.abs(ours - run_litert_reference(out, inputs)).max() <= 1e-6


@pytest.mark.parametrize("io", ["int8", "uint8"])
def test_io_is_8_bit_where_conv3d_reads_the_input_and_writes_the_output(io, tmp_path):
    """--io int8|uint8 with Conv3D first and last: the model still takes and gives 8-bit
    tensors, joined to the float CONV_3D by DEQUANTIZE and QUANTIZE."""
    folder = GOLDEN / "mini_ct3d"
    out = tmp_path / "io.tflite"
    h5tolite("convert", folder / "keras3.h5", "-o", out, "--quantize", "int8", "--calibration",
             folder / "calibration.npy", "--io", io)
    interpreter = Interpreter(model_path=str(out))
    interpreter.allocate_tensors()
    (inp,), (outp,) = interpreter.get_input_details(), interpreter.get_output_details()
    dtype = np.int8 if io == "int8" else np.uint8
    assert inp["dtype"] == dtype and outp["dtype"] == dtype
    assert inp["name"] == "ct" and outp["name"] == "finding"
    (scale, zero_point), (out_scale, out_zero_point) = inp["quantization"], outp["quantization"]
    info = np.iinfo(dtype)
    outputs = []
    for sample in np.load(folder / "input.npy"):
        interpreter.set_tensor(inp["index"], np.clip(np.round(sample[None] / scale) + zero_point, info.min, info.max).astype(dtype))
        interpreter.invoke()
        outputs.append((interpreter.get_tensor(outp["index"])[0].astype(np.float32) - out_zero_point) * out_scale)
    assert np.abs(np.stack(outputs) - np.load(folder / "output_keras3.npy")).max() <= 0.02
