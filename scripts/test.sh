#!/usr/bin/env bash
# The quick start's test command: install, build, and run the whole test suite through CTest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install_deps.sh
scripts/build.sh
cd "${BUILD_DIR:-build}"
# ctest -j runs two test programs on two cores: OpenMP threads must sleep, not spin, while they
# wait (docs/results.md, "Speed beside a busy process"). flowinone sets this itself by running
# itself again; set here, the test binary gets it too and the CLI tests skip the second exec.
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}"
ctest --output-on-failure -j "$(nproc)" --timeout 600
