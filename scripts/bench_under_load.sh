#!/usr/bin/env bash
# The 2D rows of docs/results.md "Speed beside a busy process": train2d and sample2d in torchcfm's
# tutorial setting, default threads and --threads 1, each measured quiet and beside one busy
# process (bench --load 1). One line per run: the settings, then bench's JSON.
#   scripts/bench_under_load.sh [path/to/flowinone]
# The peer's loops on Debian's PyTorch: apt-get install python3-torch; /usr/bin/python3 scripts/peer_cfm_loops.py
set -euo pipefail
cd "$(dirname "$0")/.."
flowinone="${1:-build/flowinone}"
peer="--set depth=3 --set fourier_features=0 --set ema_decay=0 --set grad_clip=0"
peer="$peer --set optimizer=adam --set shards=1 --set time_skew=1"
for width in 64 256; do
  for coupling in "independent" "ot-exact --set sigma=0.1"; do
    for threads in 0 1; do
      # shellcheck disable=SC2086
      echo "train2d width=$width coupling=$coupling threads=$threads $("$flowinone" --threads "$threads" \
        bench train2d $peer --set width="$width" --set coupling=$coupling --repeats 3 --load 1 --json | tail -1)"
    done
  done
  for threads in 0 1; do
    echo "sample2d width=$width threads=$threads $("$flowinone" --threads "$threads" bench sample2d \
      --set width="$width" --set depth=3 --set fourier_features=0 --repeats 3 --load 1 --json | tail -1)"
  done
done
