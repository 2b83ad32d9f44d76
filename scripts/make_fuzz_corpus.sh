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
mkdir -p "$corpus"/{fuzz_png,fuzz_jpeg,fuzz_server_request,fuzz_safetensors,fuzz_checkpoint,fuzz_idx,fuzz_config,fuzz_model_config,fuzz_prompt_text,fuzz_server_api}
ASAN_OPTIONS=detect_leaks=0 "$fuzz_dir/make_seeds" "$corpus"

# The presets, behind fuzz_config's first byte 0 (TOML).
for preset in configs/*.toml; do
  { printf '\0'; cat "$preset"; } > "$corpus/fuzz_config/$(basename "$preset")"
done

# Request bodies of the server's endpoints, behind fuzz_server_api's first byte (0 generate,
# 1 translate, 2 likelihood, 3 prompt, 4 velocity, 5 a job's check); "points" is its 2D model.
api="$corpus/fuzz_server_api"
printf '\0{"model":"points","n":8,"solver":"rk4","steps":4,"seed":3,"trajectory":3}' > "$api/generate.json"
printf '\0{"model":"points","n":4,"solver":"dopri5","temperature":0.5}' > "$api/generate_dopri.json"
printf '\1{"model":"points","image":"data:image/png;base64,iVBORw0KGgo=","steps":2}' > "$api/translate.json"
printf '\2{"model":"points","points":[[0.5,-1.0],[2,3]],"estimator":"hutchinson","probes":2,"steps":4,"seed":1}' > "$api/likelihood.json"
printf '\2{"model":"points","points":[[0,0]],"estimator":"exact"}' > "$api/likelihood_exact.json"
printf '\3{"task":"class2image","text":"bag","seed":2,"size":32}' > "$api/prompt.json"
printf '\3{"task":"box2image","text":"shirt","boxes":[[0.1,0.1,0.5,0.5]],"arrows":[[0,0,1,1]],"strokes":[[[0,0],[1,1]]],"dots":[[0.5,0.5]]}' > "$api/prompt_drawn.json"
printf '\4{"model":"points","t":0.5,"points":[[0,0],[1,-1]]}' > "$api/velocity.json"
printf '\5{"kind":"train","request":{"source":"gaussian","target":"moons","coupling":"exact","path":"straight","sigma":0.1,"width":32,"depth":2,"steps":100,"batch":256,"lr":0.001,"seed":1}}' > "$api/train.json"
printf '\5{"kind":"generate","request":{"model":"points","n":2}}' > "$api/job_generate.json"

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
