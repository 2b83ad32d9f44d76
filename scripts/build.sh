#!/usr/bin/env bash
# Configures and builds flowinone in Release into build/ (or $BUILD_DIR): everything, or only the
# targets named in $BUILD_TARGETS (e.g. BUILD_TARGETS=flowinone: the program without the tests).
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${BUILD_DIR:-build}
jobs=${JOBS:-$(nproc)}
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
targets=()
for target in ${BUILD_TARGETS:-}; do targets+=(--target "$target"); done
cmake --build "$build_dir" -j "$jobs" "${targets[@]}"
