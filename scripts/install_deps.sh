#!/usr/bin/env bash
# Installs what building and running flowinone needs on Debian bookworm (as root), skipping what
# is already there so that a second run costs nothing.
set -euo pipefail

packages=(
  build-essential cmake pkg-config ninja-build
  libtorch-dev libopenblas0-openmp        # LibTorch 1.13 (CPU) and a fast BLAS behind it
  libgloo-dev                             # headers of c10d's Gloo backend (data-parallel training)
  libpng-dev zlib1g-dev                   # PNG pictures, gzip'd data sets
  libjpeg-dev                             # JPEG pictures in image folders (optional at build)
  nlohmann-json3-dev libcli11-dev libtomlplusplus-dev
  libcpp-httplib-dev                      # the HTTP server (flowinone serve)
  chromium chromium-driver python3-selenium  # the web page's browser test (tests/browser/)
  libgtest-dev libbenchmark-dev
  clang libclang-rt-14-dev                # libFuzzer and the sanitizers' runtimes (scripts/fuzz.sh)
  dataset-fashion-mnist
)

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  if [ "$(id -u)" -ne 0 ]; then
    echo "error: missing packages (${missing[*]}); run as root or install them first" >&2
    exit 2
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
