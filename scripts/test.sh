#!/usr/bin/env bash
# The whole test suite: installs dependencies, builds with warnings as errors, runs every test
# through ctest, then does the same in an AddressSanitizer + UBSan build.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install_deps.sh

jobs=$(nproc)
echo "== release build (warnings are errors)"
BUILD_DIR=build scripts/build.sh -DRUNNEL_WERROR=ON -DRUNNEL_SANITIZE=OFF -DRUNNEL_BUILD_TESTS=ON
ctest --test-dir build --output-on-failure -j "$jobs"

echo "== ASan + UBSan build"
BUILD_DIR=build-asan BUILD_TYPE=Debug scripts/build.sh -DRUNNEL_WERROR=ON -DRUNNEL_SANITIZE=ON -DRUNNEL_BUILD_TESTS=ON \
  -DRUNNEL_BUILD_BENCH=OFF
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build-asan --output-on-failure -j "$jobs"

echo "== fuzzing the payload decoders, topic templates, profiles, operator state and the MQTT ingest journal (10 s per target)"
scripts/fuzz.sh 10
