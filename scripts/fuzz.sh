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
harnesses=("${@:-FuzzTFLite FuzzNPY FuzzKerasConfig FuzzKerasFile FuzzImage}")
harnesses=(${harnesses[@]})
# SwiftPM keeps the main package's file list in this cache and misses files added since.
rm -f Fuzz/.build/release/description.json Fuzz/.build/*/release/description.json
# gold fails on the instrumented objects; lld links them.
(cd Fuzz && swift build -c release -Xswiftc -sanitize=fuzzer,address -Xswiftc -use-ld=lld)
seeds=Fuzz/seeds
mkdir -p "$seeds"/{FuzzTFLite,FuzzNPY,FuzzKerasConfig,FuzzKerasFile,FuzzImage}
cp golden/models/*/tf*.tflite "$seeds/FuzzTFLite/" 2>/dev/null || true
cp golden/models/*/input.npy "$seeds/FuzzNPY/" 2>/dev/null || true
i=0; for f in golden/models/*/keras3.h5 golden/models/*/model.keras golden/bad/*; do cp "$f" "$seeds/FuzzKerasFile/seed$i"; i=$((i+1)); done
cp golden/images/*.{png,jpg,jpeg,dcm} golden/images/dicom_implicit "$seeds/FuzzImage/"
cp golden/data/chexnet/dicom/test_000[0-3].dcm "$seeds/FuzzImage/"
python3 - "$seeds/FuzzKerasConfig" <<'PY'
import json, pathlib, sys, zipfile
out = pathlib.Path(sys.argv[1])
for i, archive in enumerate(sorted(pathlib.Path("golden/models").glob("*/model.keras"))):
    (out / f"config{i}.json").write_bytes(zipfile.ZipFile(archive).read("config.json"))
PY
# A hostile header may ask for terabytes: let malloc fail (as it does outside ASan) so that
# the reader's own error path runs instead of ASan stopping the run.
export ASAN_OPTIONS=allocator_may_return_null=1
for harness in "${harnesses[@]}"; do
    mkdir -p "Fuzz/corpus/$harness" "Fuzz/crashes/$harness"
    echo "== $harness for ${seconds}s"
    # libhdf5 itself crashes and loops on some damaged files (h5tolite survives those by
    # reading in a child process with a deadline): fork mode records them and goes on, and
    # the triage below checks that the CLI turns each one into a one-line error.
    extra=()
    [[ $harness == FuzzKerasFile ]] && extra=(-fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1)
    Fuzz/.build/release/"$harness" "Fuzz/corpus/$harness" "$seeds/$harness" -max_total_time="$seconds" \
        -artifact_prefix="Fuzz/crashes/$harness/" -print_final_stats=1 -rss_limit_mb=4096 -timeout=20 \
        -detect_leaks=0 "${extra[@]}" 2>&1 \
        | tee "Fuzz/crashes/$harness/last.log" | grep -E "stat::|Done|ERROR|SUMMARY|cov:" | tail -8 || true
done

# Every file a Keras-file run recorded must convert or end as a one-line error from the CLI.
if [[ " ${harnesses[*]} " == *" FuzzKerasFile "* ]] && compgen -G "Fuzz/crashes/FuzzKerasFile/[a-z]*-*" > /dev/null; then
    swift build -c release --product h5tolite > /dev/null
    for artifact in Fuzz/crashes/FuzzKerasFile/[a-z]*-*; do
        cp "$artifact" /tmp/h5tolite-triage.h5
        set +e
        message=$(.build/release/h5tolite convert /tmp/h5tolite-triage.h5 -o /tmp/h5tolite-triage.tflite 2>&1)
        status=$?
        set -e
        lines=$(printf '%s\n' "$message" | wc -l)
        verdict=FAIL; [[ $status -eq 0 || ($status -eq 1 && $lines -eq 1) ]] && verdict=ok
        echo "triage $verdict $(basename "$artifact"): exit $status: $message"
    done
fi
