#!/usr/bin/env bash
# The whole test suite: installs what it needs, builds, runs the Swift tests, then the
# end-to-end tests that check every written .tflite with LiteRT (the official runtime).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh

echo "== schema bindings are up to date"
python3 schema/generate_swift.py --check

echo "== swift build"
swift build

echo "== swift test"
swift test

echo "== end-to-end tests (LiteRT as referee)"
if [ ! -x .test-venv/bin/python ] || ! .test-venv/bin/python -c "import ai_edge_litert, numpy, pytest, mediapipe, tflite_support" 2>/dev/null; then
    python3 -m venv .test-venv
    .test-venv/bin/pip install --quiet --disable-pip-version-check -r Tests/e2e/requirements.txt
fi
H5TOLITE="$PWD/.build/debug/h5tolite" .test-venv/bin/python -m pytest -q Tests/e2e
