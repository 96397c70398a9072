#!/usr/bin/env bash
# Quick start: installs what h5tolite needs, builds it, converts the bundled CheXNet-shaped
# sample model (golden/models/chexnet_nested) and describes the result.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
swift build -c release --product h5tolite
mkdir -p out
.build/release/h5tolite convert golden/models/chexnet_nested/keras3.h5 -o out/chexnet.tflite
.build/release/h5tolite inspect out/chexnet.tflite
