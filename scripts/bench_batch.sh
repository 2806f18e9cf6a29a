#!/usr/bin/env bash
# Batch-aggregation benchmark (docs/benchmarks.md): generates 10 M readings, then times the
# same job (1-minute tumbling windows per device, avg/min/max/count, CSV in -> CSV out) in a
# hand-written C++ loop, pandas, DuckDB (1 and 2 threads), the sqlite3 CLI and Runnel (when
# build/app/runnel exists), RUNS times each, interleaved, on the same file; then checks that
# the outputs agree and prints a Markdown table of medians.
#
# usage: scripts/bench_batch.sh
# environment (defaults): ROWS=10000000 DEVICES=1000 SEED=42 RUNS=3
#   RUNNEL_BIN=build/app/runnel  RUNNEL_TIMEOUT=600 (seconds per Runnel run)  BUILD_DIR=build-bench
#   WAIT_IDLE=0   seconds to wait, at most, for the 1-minute load average to drop below
#                 IDLE_LOAD=0.5 before timing (the table reports the load seen by every run)
#   SKIP="..."    programs to leave out: handloop pandas duckdb_1t duckdb_2t sqlite3 runnel
# Everything it writes goes to bench/data/ (input) and bench/results/ (outputs, logs, tables),
# both git-ignored. Needs: cmake, ninja, g++, node + npm, sqlite3, /usr/bin/time,
# /usr/bin/python3 with pandas (Debian: apt-get install -y time python3-pandas sqlite3).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ROWS=${ROWS:-10000000}
DEVICES=${DEVICES:-1000}
SEED=${SEED:-42}
RUNS=${RUNS:-3}
RUNNEL_BIN=${RUNNEL_BIN:-$ROOT/build/app/runnel}
RUNNEL_TIMEOUT=${RUNNEL_TIMEOUT:-600}
BUILD_DIR=${BUILD_DIR:-$ROOT/build-bench}
WAIT_IDLE=${WAIT_IDLE:-0}
IDLE_LOAD=${IDLE_LOAD:-0.5}
SKIP=" ${SKIP:-} "
PY=/usr/bin/python3   # Debian's python3-pandas; a pyenv python3 earlier in PATH has no pandas

if (( ROWS % 1000000 == 0 )); then LABEL="$((ROWS / 1000000))m"
elif (( ROWS % 1000 == 0 )); then LABEL="$((ROWS / 1000))k"
else LABEL="$ROWS"; fi
DATA="$ROOT/bench/data/readings_$LABEL.csv"
RESULTS="$ROOT/bench/results"
OUT="$RESULTS/out"
LOGS="$RESULTS/logs"
TSV="$RESULTS/timings.tsv"

log() { printf '[bench_batch %s] %s\n' "$(date +%T)" "$*" >&2; }
die() { log "error: $*"; exit 1; }
skipped() { [[ "$SKIP" == *" $1 "* ]]; }

# --- preflight -------------------------------------------------------------------------
[[ -x /usr/bin/time ]] || die "/usr/bin/time missing (apt-get install -y time)"
for cmd in cmake ninja g++ node npm sqlite3 sha256sum timeout; do
  command -v "$cmd" >/dev/null || die "$cmd missing"
done
"$PY" -c 'import pandas' 2>/dev/null || die "$PY cannot import pandas (apt-get install -y python3-pandas)"

mkdir -p "$ROOT/bench/data" "$OUT" "$LOGS"
rm -f "$TSV" "$OUT"/*.csv "$LOGS"/*

# --- build -------------------------------------------------------------------------------
BENCH_BIN="$BUILD_DIR/bench"
log "building bench programs in $BUILD_DIR"
if cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DRUNNEL_BUILD_TESTS=OFF -DRUNNEL_BUILD_BENCH=ON \
      >"$LOGS/cmake.log" 2>&1 &&
   ninja -C "$BUILD_DIR" runnel_bench_gen_readings runnel_bench_handloop_window \
      >"$LOGS/ninja.log" 2>&1; then
  :
else
  # The engine's modules are written in parallel and may not configure yet; the bench
  # programs need only the standard library, so build them directly with the same flags.
  log "cmake/ninja failed (see $LOGS/cmake.log, ninja.log); building with g++ directly"
  mkdir -p "$BENCH_BIN"
  for prog in gen_readings handloop_window; do
    g++ -std=c++20 -O2 -Wall -Wextra -o "$BENCH_BIN/runnel_bench_$prog" "$ROOT/bench/$prog.cc"
  done
fi
GEN="$BENCH_BIN/runnel_bench_gen_readings"
HANDLOOP="$BENCH_BIN/runnel_bench_handloop_window"

if ! skipped duckdb_1t || ! skipped duckdb_2t; then
  log "npm ci in bench/duckdb"
  (cd "$ROOT/bench/duckdb" && npm ci --no-audit --no-fund --loglevel=error) >"$LOGS/npm.log" 2>&1 ||
    die "npm ci failed, see $LOGS/npm.log"
fi

# --- Runnel pipeline for this data file ----------------------------------------------------
PIPELINE="$ROOT/bench/batch_window.toml"
if [[ "$LABEL" != 10m ]]; then
  # Paths in a pipeline are relative to its own directory: put a copy next to the data.
  PIPELINE="$ROOT/bench/data/batch_window_$LABEL.toml"
  sed -e "s|\"data/readings_10m.csv\"|\"readings_$LABEL.csv\"|" \
      -e 's|"results/|"../results/|' "$ROOT/bench/batch_window.toml" >"$PIPELINE"
fi
RUNNEL_OUT="$RESULTS/runnel_window.csv"
RUNNEL_STATE="$RESULTS/runnel-state"
HAVE_RUNNEL=0
if ! skipped runnel; then
  if [[ -x "$RUNNEL_BIN" ]]; then
    if "$RUNNEL_BIN" check "$PIPELINE" >"$LOGS/runnel_check.log" 2>&1; then
      HAVE_RUNNEL=1
    else
      log "runnel check $PIPELINE failed (see $LOGS/runnel_check.log): Runnel left out"
    fi
  else
    log "no Runnel binary at $RUNNEL_BIN: Runnel row stays pending"
  fi
fi

# --- timing --------------------------------------------------------------------------------
source "$ROOT/scripts/bench_measure.sh"

wait_idle() {
  (( WAIT_IDLE > 0 )) || return 0
  local waited=0
  while awk -v max="$IDLE_LOAD" '{ exit !($1 >= max) }' /proc/loadavg && (( waited < WAIT_IDLE )); do
    sleep 5
    waited=$((waited + 5))
  done
  log "load average $(cut -d' ' -f1-3 /proc/loadavg) after waiting ${waited} s"
}

wait_idle
{
  echo "date: $(date -u +%FT%TZ)"
  echo "nproc: $(nproc)"
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
  echo "ram: $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
  echo "kernel: $(uname -r)"
  echo "os: $(. /etc/os-release && echo "$PRETTY_NAME")"
  echo "gcc: $(g++ -dumpfullversion)"
  echo "node: $(node --version)"
  echo "duckdb: $(node -p "require('$ROOT/bench/duckdb/node_modules/@duckdb/node-api/package.json').version" 2>/dev/null || echo -)"
  echo "pandas: $("$PY" -c 'import pandas; print(pandas.__version__)')"
  echo "sqlite3: $(sqlite3 --version | cut -d' ' -f1)"
  echo "runnel: $([[ $HAVE_RUNNEL == 1 ]] && "$RUNNEL_BIN" --version 2>&1 | head -n 1 || echo pending)"
  echo "load at start: $(cut -d' ' -f1-3 /proc/loadavg)"
} >"$RESULTS/machine.txt"
cat "$RESULTS/machine.txt" >&2

log "generating $ROWS readings ($DEVICES devices, seed $SEED) -> $DATA, $RUNS times"
for run in $(seq 1 "$RUNS"); do
  measure gen_readings "$run" "$GEN" --rows "$ROWS" --devices "$DEVICES" --seed "$SEED" --out "$DATA"
done
[[ -s "$DATA" ]] || die "generator produced no data"
sync
echo "data: $DATA, $(stat -c %s "$DATA") bytes, $(($(wc -l <"$DATA") - 1)) rows, sha256 $(sha256sum "$DATA" | cut -d' ' -f1)" \
  | tee -a "$RESULTS/machine.txt" >&2
cat "$DATA" >/dev/null   # every program reads the file from the page cache

SQL="$RESULTS/window.sql"
sed -e "s|@INPUT@|$DATA|" -e "s|@OUTPUT@|$OUT/sqlite3.csv|" "$ROOT/bench/sqlite/window.sql.in" >"$SQL"

for run in $(seq 1 "$RUNS"); do
  skipped handloop || measure handloop "$run" "$HANDLOOP" "$DATA" "$OUT/handloop.csv"
  skipped pandas || measure pandas "$run" "$PY" "$ROOT/bench/pandas/window.py" "$DATA" "$OUT/pandas.csv"
  skipped duckdb_1t || measure duckdb_1t "$run" node "$ROOT/bench/duckdb/window.mjs" "$DATA" "$OUT/duckdb_1t.csv" 1
  skipped duckdb_2t || measure duckdb_2t "$run" node "$ROOT/bench/duckdb/window.mjs" "$DATA" "$OUT/duckdb_2t.csv" 2
  skipped sqlite3 || measure sqlite3 "$run" sqlite3 -init /dev/null -bail -batch :memory: ".read $SQL"
  if [[ $HAVE_RUNNEL == 1 ]]; then
    rm -rf "$RUNNEL_STATE" "$RUNNEL_OUT"
    measure runnel "$run" timeout "$RUNNEL_TIMEOUT" \
      "$RUNNEL_BIN" run "$PIPELINE" --state-dir "$RUNNEL_STATE" --no-dashboard
    du -sh "$RUNNEL_STATE" >"$LOGS/runnel_state_size.$run.txt" 2>&1 || true
  fi
done

# --- phases, agreement, table ------------------------------------------------------------
{
  for name in handloop pandas duckdb_1t duckdb_2t; do
    f="$LOGS/$name.$RUNS.err"
    [[ -s "$f" ]] && echo "$name (run $RUNS): $(tail -n 1 "$f")"
  done
  f="$LOGS/sqlite3.$RUNS.out"
  [[ -s "$f" ]] && echo "sqlite3 (run $RUNS): SELECT $(grep -m1 'Run Time' "$f"); the rest of the wall time is .import"
  true
} | tee "$RESULTS/phases.txt" >&2

CHECK=()
for name in pandas duckdb_1t duckdb_2t sqlite3; do
  [[ -s "$OUT/$name.csv" ]] && CHECK+=("$OUT/$name.csv")
done
[[ $HAVE_RUNNEL == 1 && -s "$RUNNEL_OUT" ]] && CHECK+=("$RUNNEL_OUT")
CHECK_STATUS=0
if [[ -s "$OUT/handloop.csv" && ${#CHECK[@]} -gt 0 ]]; then
  log "checking outputs against the hand loop's"
  "$PY" "$ROOT/bench/check_window_outputs.py" "$OUT/handloop.csv" "${CHECK[@]}" \
    | tee "$RESULTS/check.txt" >&2 || CHECK_STATUS=1
  if [[ $HAVE_RUNNEL == 1 && ! -s "$RUNNEL_OUT" ]]; then
    log "Runnel wrote no $RUNNEL_OUT"
    CHECK_STATUS=1
  fi
fi

"$PY" "$ROOT/bench/summarize_timings.py" "$TSV" | tee "$RESULTS/summary.md"
log "results in $RESULTS (summary.md, timings.tsv, machine.txt, phases.txt, check.txt, logs/)"
(( FAILURES == 0 )) || die "$FAILURES run(s) failed"
(( CHECK_STATUS == 0 )) || die "outputs disagree (see $RESULTS/check.txt)"
