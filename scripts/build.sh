#!/usr/bin/env bash
# Configures and builds flowinone in Release into build/ (or $BUILD_DIR): everything, or only the
# targets named in $BUILD_TARGETS (e.g. BUILD_TARGETS=flowinone: the program without the tests).
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${BUILD_DIR:-build}
jobs=${JOBS:-$(nproc)}
generator=()
# Ninja where installed, for a new build folder (an existing one keeps the generator it has):
# CMake's Makefiles list every file's precompiled-header flags in one flags.make that all objects
# depend on, so adding a source file there rebuilds the whole library; Ninja rebuilds what changed.
if [ ! -f "$build_dir/CMakeCache.txt" ] && command -v ninja >/dev/null; then generator=(-G Ninja); fi
cmake -S . -B "$build_dir" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
targets=()
for target in ${BUILD_TARGETS:-}; do targets+=(--target "$target"); done
cmake --build "$build_dir" -j "$jobs" "${targets[@]}"
