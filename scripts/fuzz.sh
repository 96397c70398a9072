#!/usr/bin/env bash
# Builds the libFuzzer harnesses in Fuzz/ with the address sanitizer and runs each for
# SECONDS (default 60), seeded from golden/. Crashes land in Fuzz/crashes/<harness>/; add
# each one to the regression corpus (Tests/e2e or the module's tests) once fixed. Leak
# detection is off: Foundation leaks a few bytes per path conversion (seen through
# ZIPFoundation), which would stop every run.
#   bash scripts/fuzz.sh [SECONDS] [HARNESS...]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
harnesses=("${@:-FuzzTFLite FuzzNPY FuzzKerasConfig FuzzKerasFile}")
harnesses=(${harnesses[@]})
# gold fails on the instrumented objects; lld links them.
(cd Fuzz && swift build -c release -Xswiftc -sanitize=fuzzer,address -Xswiftc -use-ld=lld)
seeds=Fuzz/seeds
mkdir -p "$seeds"/{FuzzTFLite,FuzzNPY,FuzzKerasConfig,FuzzKerasFile}
cp golden/models/*/tf*.tflite "$seeds/FuzzTFLite/" 2>/dev/null || true
cp golden/models/*/input.npy "$seeds/FuzzNPY/" 2>/dev/null || true
i=0; for f in golden/models/*/keras3.h5 golden/models/*/model.keras golden/bad/*; do cp "$f" "$seeds/FuzzKerasFile/seed$i"; i=$((i+1)); done
python3 - "$seeds/FuzzKerasConfig" <<'PY'
import json, pathlib, sys, zipfile
out = pathlib.Path(sys.argv[1])
for i, archive in enumerate(sorted(pathlib.Path("golden/models").glob("*/model.keras"))):
    (out / f"config{i}.json").write_bytes(zipfile.ZipFile(archive).read("config.json"))
PY
for harness in "${harnesses[@]}"; do
    mkdir -p "Fuzz/corpus/$harness" "Fuzz/crashes/$harness"
    echo "== $harness for ${seconds}s"
    Fuzz/.build/release/"$harness" "Fuzz/corpus/$harness" "$seeds/$harness" -max_total_time="$seconds" \
        -artifact_prefix="Fuzz/crashes/$harness/" -print_final_stats=1 -rss_limit_mb=4096 -timeout=20 \
        -detect_leaks=0 2>&1 \
        | grep -E "stat::|Done|ERROR|SUMMARY|cov:" | tail -8 || true
done
