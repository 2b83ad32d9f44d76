#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/) with clang into build-fuzz/ and runs each for SECONDS
# (default 30), one after the other, from the committed seeds (fuzz/corpus/<target>/) plus what
# earlier runs found (build-fuzz/corpus/<target>/). Prints a line per target (executions, edges
# covered, seconds) and exits 1 when any target found a crash, leak, timeout or unexpected
# exception; the input is saved in build-fuzz/crashes/ (docs/fuzzing.md says how to replay it).
#
#   scripts/fuzz.sh [--no-torch] [SECONDS] [TARGET...]
#
# The targets that parse tensors link an ordinary build's libflowinone.a ($FLOWINONE_LIB_DIR,
# default build/), which is built first if missing. --no-torch builds and runs only the parsers
# that need no LibTorch (PNG, JPEG, the server's picture fields, safetensors, IDX): about a minute
# of compiling, and no ordinary build needed. The suite's `fuzz_parsers` test runs every target.
set -euo pipefail
cd "$(dirname "$0")/.."
with_torch=ON
if [ "${1:-}" = --no-torch ]; then
  with_torch=OFF
  shift
fi
seconds=${1:-30}
shift || true
fuzz_dir=${FUZZ_BUILD_DIR:-build-fuzz}
lib_dir=${FLOWINONE_LIB_DIR:-build}
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(fuzz_png fuzz_jpeg fuzz_server_request fuzz_safetensors fuzz_idx)
  if [ "$with_torch" = ON ]; then
    targets+=(fuzz_checkpoint fuzz_config fuzz_model_config fuzz_prompt_text)
    # The server's endpoints, where the ordinary build has the server (cpp-httplib installed).
    if [ -f "$lib_dir/libflowinone_server.a" ]; then targets+=(fuzz_server_api); fi
  fi
fi

command -v clang++ >/dev/null || { echo "error: clang++ is missing (scripts/install_deps.sh)" >&2; exit 2; }
configure_args=(-DFLOWINONE_FUZZ_TORCH="$with_torch")
if [ "$with_torch" = ON ]; then
  if [ ! -f "$lib_dir/libflowinone.a" ]; then
    BUILD_DIR="$lib_dir" BUILD_TARGETS=flowinone_lib scripts/build.sh
  fi
  configure_args+=(-DFLOWINONE_LIB_DIR="$(cd "$lib_dir" && pwd)")
fi
CXX=clang++ cmake -S fuzz -B "$fuzz_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "${configure_args[@]}" >/dev/null
build_args=()
for target in "${targets[@]}"; do build_args+=(--target "$target"); done
cmake --build "$fuzz_dir" -j "${JOBS:-$(nproc)}" "${build_args[@]}"

mkdir -p "$fuzz_dir/logs" "$fuzz_dir/crashes"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/scripts/lsan.supp:print_suppressions=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export OMP_NUM_THREADS=1 OMP_WAIT_POLICY=PASSIVE
# FUZZ_SEED=N makes the mutations repeatable (the suite's fuzz_parsers test sets it); by default
# libFuzzer draws a new seed each run, which explores more over many runs.
seed=()
if [ -n "${FUZZ_SEED:-}" ]; then seed=(-seed="$FUZZ_SEED"); fi
failed=()
printf '%-22s %12s %8s %8s %s\n' target executions edges seconds result
for target in "${targets[@]}"; do
  work="$fuzz_dir/corpus/$target"
  mkdir -p "$work"
  dict=()
  case "$target" in
    fuzz_png | fuzz_server_request) dict=(-dict=fuzz/dict/png.dict) ;;
    fuzz_safetensors | fuzz_checkpoint | fuzz_model_config) dict=(-dict=fuzz/dict/safetensors.dict) ;;
    fuzz_config) dict=(-dict=fuzz/dict/config.dict) ;;
    fuzz_server_api) dict=(-dict=fuzz/dict/server_api.dict) ;;
  esac
  log="$fuzz_dir/logs/$target.log"
  start=$(date +%s)
  status=0
  "$fuzz_dir/$target" "${dict[@]}" "${seed[@]}" -max_total_time="$seconds" -timeout=25 -rss_limit_mb=3072 \
    -malloc_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$fuzz_dir/crashes/$target-" \
    "$work" "fuzz/corpus/$target" >"$log" 2>&1 || status=$?
  elapsed=$(( $(date +%s) - start ))
  runs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | tail -1 | awk '{print $2}')
  edges=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | awk '{print $2}')
  result=ok
  if [ "$status" -ne 0 ]; then result="FAILED (status $status, see $log)"; failed+=("$target"); fi
  printf '%-22s %12s %8s %8s %s\n' "$target" "${runs:-?}" "${edges:-?}" "$elapsed" "$result"
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "error: ${failed[*]} failed; inputs in $fuzz_dir/crashes/" >&2
  exit 1
fi
