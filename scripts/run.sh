#!/usr/bin/env bash
# The quick start's run command: install, build, train the default 2D model (Gaussian -> 4x4
# checkerboard), then sample, evaluate and draw it. Pictures land in runs/checkerboard/.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install_deps.sh
BUILD_TARGETS=flowinone scripts/build.sh  # the program alone: the tests are a quarter of the build
out=${OUT_DIR:-runs/checkerboard}
flowinone=build/flowinone
$flowinone train --preset checkerboard --seed 1 --out "$out" --force
$flowinone sample --model "$out" --n 10000 --solver rk4 --steps 20 --out "$out/samples.png"
$flowinone eval --model "$out" --n 10000 --solver euler --steps 100 --json
$flowinone viz --model "$out" --out "$out/viz"
echo "pictures: $out/samples.png and $out/viz/{density,trajectories,vector_field}.png, $out/viz/flow.gif"
