#!/usr/bin/env bash
# Installs the Debian packages h5tolite builds against, if they are missing; libusb-1.0-0
# because tflite-support's wheel (the end-to-end tests' metadata reader) links against it.
set -euo pipefail
packages=(libhdf5-dev libflatbuffers-dev flatbuffers-compiler libopenblas-dev libpng-dev libjpeg62-turbo-dev pkg-config libusb-1.0-0)
missing=()
for package in "${packages[@]}"; do
    dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "== installing ${missing[*]}"
    SUDO=""
    [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
