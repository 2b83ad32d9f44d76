#!/usr/bin/env bash
# Writes the fuzzers' seed corpora into fuzz/corpus/<target>/ from the project's own valid files:
# pictures, tensors, IDX files and configurations written by its writers (fuzz/make_seeds.cpp),
# the preset configurations (configs/*.toml), and a tiny model directory trained by the program
# (its model.safetensors and checkpoint). The result is committed; rerun after a format changes.
#
#   scripts/make_fuzz_corpus.sh        (needs build-fuzz/make_seeds and the program: see fuzz.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
fuzz_dir=${FUZZ_BUILD_DIR:-build-fuzz}
program=${FLOWINONE:-${FLOWINONE_LIB_DIR:-build}/flowinone}
[ -x "$fuzz_dir/make_seeds" ] || cmake --build "$fuzz_dir" --target make_seeds
[ -x "$program" ] || { echo "error: no program at $program (set FLOWINONE=...)" >&2; exit 2; }

corpus=fuzz/corpus
rm -rf "$corpus"
mkdir -p "$corpus"/{fuzz_png,fuzz_jpeg,fuzz_server_request,fuzz_safetensors,fuzz_checkpoint,fuzz_idx,fuzz_config,fuzz_model_config,fuzz_prompt_text}
ASAN_OPTIONS=detect_leaks=0 "$fuzz_dir/make_seeds" "$corpus"

# The presets, behind fuzz_config's first byte 0 (TOML).
for preset in configs/*.toml; do
  { printf '\0'; cat "$preset"; } > "$corpus/fuzz_config/$(basename "$preset")"
done

# A tiny model and its checkpoint, as `flowinone train` writes them.
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
export OMP_WAIT_POLICY=PASSIVE
"$program" --threads 1 train --preset checkerboard --set width=8 --set depth=1 \
  --set batch_size=16 --steps 2 --out "$scratch/model" >/dev/null 2>&1
"$program" --threads 1 sample --model "$scratch/model" --n 16 --steps 2 \
  --out "$scratch/points.png" >/dev/null 2>&1 || true
cp "$scratch/model/model.safetensors" "$corpus/fuzz_model_config/mlp.safetensors"
cp "$scratch/model/model.safetensors" "$corpus/fuzz_safetensors/model.safetensors"
cp "$scratch/model/checkpoint/state.safetensors" "$corpus/fuzz_checkpoint/state.safetensors"
"$program" --threads 1 prompt --task class2image --text "bag" --out "$scratch/prompt.png" >/dev/null 2>&1
cp "$scratch/prompt.png" "$corpus/fuzz_png/prompt.png"
[ -f "$scratch/points.png" ] && cp "$scratch/points.png" "$corpus/fuzz_png/points.png"
du -sh "$corpus"
