#!/usr/bin/env bash
# Behaviour fingerprint: runs one flowinone binary through short, seeded jobs of every model kind
# and writes what they produce (weights, JSON figures, CSVs, pictures) into OUT, plus sha256sums.
# Two binaries (before and after a refactor) that should behave the same must give the same sums:
#   scripts/fingerprint.sh /tmp/old/flowinone /tmp/fp-old
#   scripts/fingerprint.sh build/flowinone /tmp/fp-new
#   diff /tmp/fp-old/SHA256SUMS /tmp/fp-new/SHA256SUMS
# Runs with --threads 1 so that a busy machine changes the time, not the numbers. FULL=1 adds the
# whole checkerboard preset (a few minutes).
set -euo pipefail
bin=$(realpath "$1")
out=$2
rm -rf "$out" && mkdir -p "$out" && cd "$out"
run() { "$bin" --threads 1 "$@"; }
json() { tail -n 1 | python3 -c 'import json,sys; d=json.loads(sys.stdin.read()); d.pop("seconds",None); print(json.dumps(d,sort_keys=True))'; }

# 2D flow matching: train, eval, sample, likelihood, viz.
run train --preset checkerboard --seed 1 --steps 1500 --out cb >/dev/null 2>&1
run eval --model cb --n 4000 --solver euler --steps 50 --json | json > cb_eval.json
run eval --model cb --n 2000 --solver dopri5 --json | json > cb_eval_dopri5.json
run sample --model cb --n 2000 --solver rk4 --steps 20 --out cb_samples.png 2>/dev/null
run sample --model cb --n 300 --with-logp --out cb_logp.csv 2>/dev/null
run likelihood --model cb --n 500 --grid 16 --out-image cb_likelihood.png --json | json > cb_likelihood.json
run likelihood --model cb --n 300 --estimator hutchinson --probes 2 --no-image --json | json > cb_hutch.json
run viz --model cb --n 2000 --particles 50 --frames 10 --out cb_viz >/dev/null 2>&1
# 2D normalizing flow.
run train --preset realnvp-checkerboard --seed 2 --steps 300 --out rnvp >/dev/null 2>&1
run likelihood --model rnvp --n 5000 --grid 16 --out-image rnvp_likelihood.png --json | json > rnvp_likelihood.json
run eval --model rnvp --n 3000 --json | json > rnvp_eval.json
run sample --model rnvp --n 500 --with-logp --out rnvp.png 2>/dev/null
# Image flow matching (class-conditional UNet), a few steps.
run train --preset fmnist --seed 3 --steps 6 --set batch_size=16 --set base_channels=8 --set num_workers=0 --out fm >/dev/null 2>&1
run sample --model fm --class all --n 2 --steps 4 --out fm_all.png 2>/dev/null
run sample --model fm --class sneaker --cfg 2 --n 3 --steps 4 --out fm_sneaker.png 2>/dev/null
run likelihood --model fm --n 6 --solver euler --steps 3 --json | json > fm_likelihood.json
# Image normalizing flow.
run train --preset glow-fmnist --seed 4 --steps 3 --set batch_size=16 --set width=8 --set num_workers=0 --out glow >/dev/null 2>&1
run likelihood --model glow --n 40 --json | json > glow_likelihood.json
run sample --model glow --n 4 --out glow.png 2>/dev/null
# Image-in, image-out: a tiny VisPrompt model and one translation.
run train --preset visprompt --seed 5 --steps 4 --set batch_size=8 --set base_channels=8 --set num_workers=0 --out vp >/dev/null 2>&1
run prompt --task force --seed 3 --out vp_in.png >/dev/null 2>&1
run translate --model vp --input vp_in.png --steps 4 --out vp_out.png 2>/dev/null
if [ "${FULL:-0}" = 1 ]; then
  "$bin" train --preset checkerboard --seed 1 --out full >/dev/null 2>&1
  run eval --model full --n 10000 --solver euler --steps 100 --json | json > full_eval.json
fi
find . -type f ! -name SHA256SUMS ! -name '*.csv' -o -name '*.csv' ! -name train_log.csv -type f | sort | xargs sha256sum > SHA256SUMS
