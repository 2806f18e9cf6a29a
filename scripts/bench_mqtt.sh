#!/usr/bin/env bash
# MQTT ingest benchmark (docs/benchmarks.md, "MQTT ingest"): one mosquitto on a free loopback
# port (settings in bench/mqtt_ingest_bench.py, BROKER_SETTINGS), then, RUNS times and for QoS
# 0 and 1, interleaved: the rate of a bare Paho subscriber and Runnel's sustained rate on
# bench/mqtt_window.toml (esp32-bme280 decode, 1-minute tumbling windows, table sink), each
# draining the same N messages published as fast as the broker takes them. Fails on any loss
# (Runnel's input log and run summary must count exactly N records, no rejects). Then the
# latency at 50 % of Runnel's median rate (bench/mqtt_latency.toml): publish -> result row.
#
# usage: scripts/bench_mqtt.sh
# environment (defaults): N=400000 RUNS=3 BUILD_DIR=build RUNNEL_BIN=$BUILD_DIR/app/runnel
#   BASELINE_BIN= (another runnel binary to run in every round too: a same-run before/after)
# Writes bench/results/mqtt/ (git-ignored): summary.md, runs.tsv, machine.txt, Runnel logs,
# mosquitto.conf and .log, messages.tsv. Needs mosquitto, /usr/bin/python3 with paho-mqtt.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
N=${N:-400000}
RUNS=${RUNS:-3}
BUILD_DIR=${BUILD_DIR:-$ROOT/build}
RUNNEL_BIN=${RUNNEL_BIN:-$BUILD_DIR/app/runnel}
RESULTS="$ROOT/bench/results/mqtt"
PY=/usr/bin/python3   # Debian's, with paho-mqtt; a pyenv python3 earlier in PATH has none

log() { printf '[bench_mqtt %s] %s\n' "$(date +%T)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

command -v mosquitto >/dev/null || die "mosquitto missing (apt-get install -y mosquitto)"
"$PY" -c 'import paho.mqtt.client' 2>/dev/null || die "$PY cannot import paho.mqtt (apt-get install -y python3-paho-mqtt)"
mkdir -p "$RESULTS"
rm -f "$RESULTS"/*.log "$RESULTS"/runs.tsv "$RESULTS"/summary.md

log "building in $BUILD_DIR"
# The bench programs are off in the test build (scripts/test.sh): switch them on here.
cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRUNNEL_BUILD_BENCH=ON \
  >"$RESULTS/cmake.build" 2>&1 || die "cmake failed, see $RESULTS/cmake.build"
cmake --build "$BUILD_DIR" -j2 --target runnel runnel_bench_mqtt_publisher \
  runnel_bench_mqtt_raw_subscriber >"$RESULTS/ninja.build" 2>&1 ||
  die "build failed, see $RESULTS/ninja.build"

{
  echo "date: $(date -u +%FT%TZ)"
  echo "nproc: $(nproc)"
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
  echo "kernel: $(uname -r)"
  echo "mosquitto: $(mosquitto -h 2>/dev/null | head -n 1)"
  echo "runnel: $("$RUNNEL_BIN" --version 2>&1 | head -n 1)"
  echo "load at start: $(cut -d' ' -f1-3 /proc/loadavg)"
} >"$RESULTS/machine.txt"
cat "$RESULTS/machine.txt" >&2

"$PY" "$ROOT/bench/mqtt_ingest_bench.py" "$ROOT" "$BUILD_DIR/bench" "$RUNNEL_BIN" "$RESULTS" \
  "$N" "$RUNS" "${BASELINE_BIN:-}"
log "load at end: $(cut -d' ' -f1-3 /proc/loadavg); results in $RESULTS"
