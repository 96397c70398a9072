"""Writes golden/images/: tiny PNG, JPEG and DICOM samples for the H5ToLiteData tests,
each with the pixels it must decode to, worked out here independently of the Swift
decoder, and fixtures for preprocessing and resizing made by Keras and TensorFlow.

    /work/tfvenv/bin/python scripts/make_images.py      (numpy, pillow, pydicom, tensorflow, keras)

Every sample NAME.EXT (or extensionless NAME) has NAME.npy: float32 (height, width, channels)
on the 0..255 scale, as `loadImage` must return it:
- PNG and JPEG: decoded by Pillow; alpha dropped; palettes expanded; 16-bit samples / 257.
- DICOM: from the stored values written into the file and its tags, following PS3.3 C.11:
  mask to BitsStored, rescale, first window (LINEAR), else raw for 8-bit unsigned without
  rescale, else min-max to 0..255; MONOCHROME1 inverted.
Fixtures:
- preprocess_input.npy and preprocess_{torch,tf,caffe}.npy:
  keras.applications.imagenet_utils.preprocess_input(x, mode=...).
- resize_input.npy and resize_HxW.npy: tf.image.resize(x, (H, W), "bilinear", antialias=False).
- batch_torch_16x16.npy: the batch_files below decoded, made RGB, resized with TensorFlow to
  16x16 and preprocessed in "torch" mode, as loadImageBatch must produce it.
The output is deterministic (fixed seed, fixed UIDs).
"""
import io
import os
import struct
import zlib
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import pydicom
from PIL import Image
from pydicom.dataset import Dataset, FileDataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian, JPEGBaseline8Bit

OUT = Path(__file__).resolve().parent.parent / "golden" / "images"
HEIGHT, WIDTH = 24, 20
rng = np.random.default_rng(20240605)


def scene(channels=1, high=255):
    """A smooth gradient with a bright disc and some noise, so JPEG has edges and texture."""
    y, x = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float64)
    base = 0.2 + 0.5 * (x / WIDTH) + 0.2 * (y / HEIGHT)
    base += 0.3 * (((x - 12) ** 2 + (y - 9) ** 2) < 25)
    planes = [np.clip(base * (0.8 + 0.2 * c) + rng.normal(0, 0.04, base.shape), 0, 1) for c in range(channels)]
    return np.rint(np.stack(planes, axis=-1) * high)


def save_expected(name, pixels):
    pixels = np.asarray(pixels, dtype=np.float32)
    if pixels.ndim == 2:
        pixels = pixels[..., None]
    np.save(OUT / f"{name}.npy", pixels)


def pil_expected(path):
    image = Image.open(path)
    image = image.convert("L" if image.mode in ("L", "LA", "1") else "RGB")
    return np.asarray(image, dtype=np.float32)


# ---------- PNG ----------

def png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def write_png16_rgb(path, samples):
    """Pillow cannot write 16-bit RGB, so this writes the PNG by hand (filter 0 rows)."""
    height, width, _ = samples.shape
    rows = b"".join(b"\0" + samples[row].astype(">u2").tobytes() for row in range(height))
    header = struct.pack(">IIBBBBB", width, height, 16, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header) + png_chunk(b"IDAT", zlib.compress(rows, 9))
                     + png_chunk(b"IEND", b""))


def make_pngs():
    gray = scene(1)[..., 0].astype(np.uint8)
    Image.fromarray(gray, "L").save(OUT / "png_gray8.png")
    save_expected("png_gray8", pil_expected(OUT / "png_gray8.png"))

    gray16 = scene(1, 65535)[..., 0].astype(np.uint16)
    Image.fromarray(gray16).save(OUT / "png_gray16.png")
    assert np.array_equal(np.asarray(Image.open(OUT / "png_gray16.png")), gray16)
    save_expected("png_gray16", gray16.astype(np.float32) / np.float32(257))

    rgb16 = scene(3, 65535).astype(np.uint16)
    write_png16_rgb(OUT / "png_rgb16.png", rgb16)
    save_expected("png_rgb16", rgb16.astype(np.float32) / np.float32(257))

    Image.fromarray((gray > 128).astype(np.uint8) * 255, "L").convert("1").save(OUT / "png_gray1.png")
    save_expected("png_gray1", pil_expected(OUT / "png_gray1.png"))

    alpha = rng.integers(0, 256, gray.shape, dtype=np.uint8)
    Image.fromarray(np.stack([gray, alpha], -1), "LA").save(OUT / "png_gray_alpha.png")
    save_expected("png_gray_alpha", pil_expected(OUT / "png_gray_alpha.png"))

    rgb = scene(3).astype(np.uint8)
    Image.fromarray(rgb, "RGB").save(OUT / "png_rgb.png")
    save_expected("png_rgb", pil_expected(OUT / "png_rgb.png"))

    Image.fromarray(np.concatenate([rgb, alpha[..., None]], -1), "RGBA").save(OUT / "png_rgba.png")
    save_expected("png_rgba", pil_expected(OUT / "png_rgba.png"))

    Image.fromarray(rgb, "RGB").quantize(16).save(OUT / "png_palette.png")
    save_expected("png_palette", pil_expected(OUT / "png_palette.png"))


# ---------- JPEG ----------

def make_jpegs():
    Image.fromarray(scene(1)[..., 0].astype(np.uint8), "L").save(OUT / "jpeg_gray.jpg", quality=90)
    Image.fromarray(scene(3).astype(np.uint8), "RGB").save(OUT / "jpeg_rgb.jpg", quality=90)
    Image.fromarray(scene(3).astype(np.uint8), "RGB").save(OUT / "jpeg_progressive.jpeg", quality=85, progressive=True)
    for name in ("jpeg_gray.jpg", "jpeg_rgb.jpg", "jpeg_progressive.jpeg"):
        save_expected(name.split(".")[0], pil_expected(OUT / name))


# ---------- DICOM ----------

def dicom(path, syntax, preamble=True, **tags):
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    meta.MediaStorageSOPInstanceUID = "1.2.826.0.1.3680043.8.498.1." + str(zlib.crc32(path.name.encode()))
    meta.TransferSyntaxUID = syntax
    meta.ImplementationClassUID = "1.2.826.0.1.3680043.8.498.1"
    ds = FileDataset(str(path), {}, file_meta=meta, preamble=b"\0" * 128 if preamble else None)
    ds.SOPClassUID = meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.Modality = "CR"
    ds.PatientName = "Test^Sample"
    for key, value in tags.items():
        setattr(ds, key, value)
    return ds


def window_linear(x, center, width):
    """PS3.3 C.11.2.1.2.1, output range 0..255."""
    low = center - 0.5 - (width - 1) / 2
    high = center - 0.5 + (width - 1) / 2
    inside = ((x - (center - 0.5)) / (width - 1) + 0.5) * 255
    return np.where(x <= low, 0.0, np.where(x > high, 255.0, inside))


def make_dicoms():
    # 16-bit MONOCHROME2, 12 bits stored with junk in the 4 bits above HighBit, rescale and
    # two windows (the first applies), a sequence before the pixel data.
    stored = scene(1, 4095)[..., 0].astype(np.uint16)
    junk = rng.integers(0, 16, stored.shape, dtype=np.uint16) << 12
    ds = dicom(OUT / "dicom_mono2_16bit_window.dcm", ExplicitVRLittleEndian,
               Rows=HEIGHT, Columns=WIDTH, SamplesPerPixel=1, PhotometricInterpretation="MONOCHROME2",
               BitsAllocated=16, BitsStored=12, HighBit=11, PixelRepresentation=0,
               RescaleSlope="0.5", RescaleIntercept="-100", WindowCenter=["700", "300"], WindowWidth=["900", "50"])
    item = Dataset()
    item.ReferencedSOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    item.ReferencedSOPInstanceUID = "1.2.826.0.1.3680043.8.498.2"
    ds.ReferencedImageSequence = Sequence([item])
    ds.PixelData = (stored | junk).astype("<u2").tobytes()
    ds.save_as(OUT / "dicom_mono2_16bit_window.dcm", enforce_file_format=True)
    modality = stored.astype(np.float64) * 0.5 + -100.0
    save_expected("dicom_mono2_16bit_window", window_linear(modality, 700.0, 900.0))

    # 8-bit MONOCHROME1 without a window: stored values inverted.
    stored8 = scene(1)[..., 0].astype(np.uint8)
    ds = dicom(OUT / "dicom_mono1_8bit.dcm", ExplicitVRLittleEndian,
               Rows=HEIGHT, Columns=WIDTH, SamplesPerPixel=1, PhotometricInterpretation="MONOCHROME1",
               BitsAllocated=8, BitsStored=8, HighBit=7, PixelRepresentation=0)
    ds.PixelData = stored8.tobytes()
    ds.save_as(OUT / "dicom_mono1_8bit.dcm", enforce_file_format=True)
    save_expected("dicom_mono1_8bit", 255.0 - stored8.astype(np.float64))

    # JPEG baseline, encapsulated (offset table item + one fragment), as the RSNA files are.
    buffer = io.BytesIO()
    Image.fromarray(stored8, "L").save(buffer, "JPEG", quality=90)
    ds = dicom(OUT / "dicom_jpeg_baseline.dcm", JPEGBaseline8Bit,
               Rows=HEIGHT, Columns=WIDTH, SamplesPerPixel=1, PhotometricInterpretation="MONOCHROME2",
               BitsAllocated=8, BitsStored=8, HighBit=7, PixelRepresentation=0, LossyImageCompression="01")
    ds.PixelData = encapsulate([buffer.getvalue()])
    ds["PixelData"].VR = "OB"
    ds["PixelData"].is_undefined_length = True
    ds.save_as(OUT / "dicom_jpeg_baseline.dcm", enforce_file_format=True)
    save_expected("dicom_jpeg_baseline", np.asarray(Image.open(io.BytesIO(buffer.getvalue())), dtype=np.float64))

    # Implicit VR, signed 16-bit, no window: min-max normalised. No extension: found by "DICM".
    signed = (scene(1, 5000)[..., 0] - 2000).astype(np.int16)
    ds = dicom(OUT / "dicom_implicit", ImplicitVRLittleEndian,
               Rows=HEIGHT, Columns=WIDTH, SamplesPerPixel=1, PhotometricInterpretation="MONOCHROME2",
               BitsAllocated=16, BitsStored=16, HighBit=15, PixelRepresentation=1)
    ds.PixelData = signed.astype("<i2").tobytes()
    ds.save_as(OUT / "dicom_implicit", enforce_file_format=True)
    values = signed.astype(np.float64)
    save_expected("dicom_implicit", (values - values.min()) / (values.max() - values.min()) * 255)

    # 8-bit RGB, planar (all red, then all green, then all blue).
    rgb = scene(3).astype(np.uint8)
    ds = dicom(OUT / "dicom_rgb_planar.dcm", ExplicitVRLittleEndian,
               Rows=HEIGHT, Columns=WIDTH, SamplesPerPixel=3, PhotometricInterpretation="RGB", PlanarConfiguration=1,
               BitsAllocated=8, BitsStored=8, HighBit=7, PixelRepresentation=0)
    ds.PixelData = np.ascontiguousarray(rgb.transpose(2, 0, 1)).tobytes()
    ds.save_as(OUT / "dicom_rgb_planar.dcm", enforce_file_format=True)
    save_expected("dicom_rgb_planar", rgb)

    # Cross-check the uncompressed files with pydicom's own reading of the stored values.
    assert np.array_equal(pydicom.dcmread(OUT / "dicom_mono2_16bit_window.dcm").pixel_array, stored)
    assert np.array_equal(pydicom.dcmread(OUT / "dicom_implicit").pixel_array, signed)
    assert np.array_equal(pydicom.dcmread(OUT / "dicom_rgb_planar.dcm").pixel_array, rgb)


# ---------- Keras / TensorFlow fixtures ----------

def make_fixtures():
    import tensorflow as tf
    from keras.applications.imagenet_utils import preprocess_input

    x = rng.uniform(0, 255, (2, 5, 7, 3)).astype(np.float32)
    np.save(OUT / "preprocess_input.npy", x)
    for mode in ("torch", "tf", "caffe"):
        np.save(OUT / f"preprocess_{mode}.npy", np.asarray(preprocess_input(x.copy(), mode=mode), dtype=np.float32))

    image = np.load(OUT / "png_rgb.npy")
    np.save(OUT / "resize_input.npy", image)
    for height, width in ((13, 17), (37, 29), (24, 9)):
        resized = tf.image.resize(image, (height, width), method="bilinear", antialias=False).numpy()
        np.save(OUT / f"resize_{height}x{width}.npy", resized.astype(np.float32))

    batch = []
    for name in BATCH_FILES:
        pixels = np.load(OUT / f"{Path(name).stem if '.' in name else name}.npy")
        if pixels.shape[-1] == 1:
            pixels = np.repeat(pixels, 3, axis=-1)
        batch.append(tf.image.resize(pixels, (16, 16), method="bilinear", antialias=False).numpy())
    batch = preprocess_input(np.stack(batch).astype(np.float32), mode="torch")
    np.save(OUT / "batch_torch_16x16.npy", batch.astype(np.float32))


BATCH_FILES = ["png_rgb.png", "png_gray16.png", "dicom_mono2_16bit_window.dcm", "dicom_implicit"]


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    make_pngs()
    make_jpegs()
    make_dicoms()
    make_fixtures()
    total = sum(path.stat().st_size for path in OUT.iterdir())
    print(f"wrote {len(list(OUT.iterdir()))} files, {total} bytes, to {OUT}")
    assert total < 200_000


if __name__ == "__main__":
    main()
