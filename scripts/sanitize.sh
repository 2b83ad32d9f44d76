#!/usr/bin/env bash
# The whole test suite under AddressSanitizer + UndefinedBehaviorSanitizer (GCC, -O1 -g) in
# build-asan/ (or $BUILD_DIR), then CTest. LibTorch itself is not instrumented: ASan checks our
# code's memory accesses and whatever torch allocates through malloc; UBSan our arithmetic.
#
#   scripts/sanitize.sh              build and run every test
#   scripts/sanitize.sh -R Png       only the tests whose names match (CTest's -R)
#
# Leaks are reported (LeakSanitizer), less the ones that LibTorch, OpenMP and OpenBLAS make on
# purpose at start-up (scripts/lsan.supp). A finding fails the test that made it.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${BUILD_DIR:-build-asan}
jobs=${JOBS:-$(nproc)}
test_jobs=${TEST_JOBS:-$(nproc)}
flags="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -g"
# -fsanitize=vptr checks every polymorphic cast against type information that LibTorch's shared
# libraries, built without it, may hold twice: it reports casts that are correct.
flags+=" -fno-sanitize=vptr"
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1" -DCMAKE_CXX_FLAGS="$flags" \
  -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" >/dev/null
cmake --build "$build_dir" -j "$jobs"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:strict_string_checks=1:detect_stack_use_after_return=0}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/scripts/lsan.supp:print_suppressions=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export OMP_WAIT_POLICY=PASSIVE
cd "$build_dir"
# fuzz_parsers builds its own clang + ASan programs against the library: with this GCC-sanitized
# one their runtimes would clash, and the fuzz targets are sanitized already.
ctest --output-on-failure -j "$test_jobs" --timeout 1800 -LE fuzz "$@"
