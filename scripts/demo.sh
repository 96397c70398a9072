#!/usr/bin/env bash
# Quick start: installs what h5tolite needs, builds it, converts the bundled CheXNet-shaped
# model, describes the file, and prints the original work's table (size and AUROC of every
# variant) on the bundled labelled chest-X-ray-like test images.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
swift build -c release --product h5tolite
mkdir -p out
h5tolite=.build/release/h5tolite
$h5tolite convert golden/models/chexnet_trained/keras3.h5 -o out/chexnet.tflite --verify
$h5tolite inspect out/chexnet.tflite
$h5tolite compare golden/models/chexnet_trained/keras3.h5 \
    --data golden/data/chexnet/test --labels golden/data/chexnet/test_labels.csv --preprocess torch \
    --calibration golden/data/chexnet/calibration --out out/compare \
    --variants float32,float16,dynamic,int8,prune:0.5,prune:0.5+int8
echo "Table, JSON and chart written to out/compare/"
