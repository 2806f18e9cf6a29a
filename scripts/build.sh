#!/usr/bin/env bash
# Configures and builds Runnel in build/ (or the directory in BUILD_DIR) with Ninja.
# Extra arguments go to cmake, e.g. -DRUNNEL_SANITIZE=ON.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${BUILD_DIR:-build}
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=${BUILD_TYPE:-RelWithDebInfo} "$@" >/dev/null
ninja -C "$build_dir" ${NINJA_TARGETS:-}
