#!/usr/bin/env bash
# As-of join benchmark (docs/benchmarks.md, "As-of join"): generates 10 M left readings
# (key,ts,temp) and 1 M right records (key,ts,gain) over 1 000 keys, then times the same job
# (each left row joined with the latest right row of its key at or before it, unmatched left
# rows kept, CSV in -> CSV out) in pandas (merge_asof), DuckDB (ASOF LEFT JOIN, 2 threads) and
# Runnel (bench/asof_join.toml), RUNS times each, interleaved, on the same files; then checks
# that the outputs agree and prints a Markdown table of medians.
#
# usage: scripts/bench_asof.sh
# environment (defaults): RUNS=3 SEED=42 RUNNEL_BIN=build/app/runnel RUNNEL_TIMEOUT=600
#   BUILD_DIR=build-bench  SKIP="..." (programs to leave out: pandas duckdb_2t runnel)
#   RUNNEL_BASELINE_BIN (unset): an earlier runnel binary, timed in every round just before
#   RUNNEL_BIN as "runnel_baseline", for before/after comparisons under the same load
# The row counts are fixed (10 M × 1 M): the pipeline names its input files.
# Everything it writes goes to bench/data/ (inputs) and bench/results/asof/ (outputs, logs,
# tables), both git-ignored. Needs: cmake, ninja, g++, node + npm, /usr/bin/time,
# /usr/bin/python3 with pandas.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RUNS=${RUNS:-3}
SEED=${SEED:-42}
RUNNEL_BIN=${RUNNEL_BIN:-$ROOT/build/app/runnel}
RUNNEL_TIMEOUT=${RUNNEL_TIMEOUT:-600}
RUNNEL_BASELINE_BIN=${RUNNEL_BASELINE_BIN:-}
BUILD_DIR=${BUILD_DIR:-$ROOT/build-bench}
SKIP=" ${SKIP:-} "
PY=/usr/bin/python3   # Debian's python3-pandas; a pyenv python3 earlier in PATH has no pandas

LEFT="$ROOT/bench/data/asof_left_10m.csv"     # names fixed by bench/asof_join.toml
RIGHT="$ROOT/bench/data/asof_right_1m.csv"
RESULTS="$ROOT/bench/results/asof"
OUT="$RESULTS/out"
LOGS="$RESULTS/logs"
TSV="$RESULTS/timings.tsv"
RUNNEL_OUT="$RESULTS/runnel.csv"              # named by bench/asof_join.toml
RUNNEL_STATE="$RESULTS/runnel-state"

log() { printf '[bench_asof %s] %s\n' "$(date +%T)" "$*" >&2; }
die() { log "error: $*"; exit 1; }
skipped() { [[ "$SKIP" == *" $1 "* ]]; }

# --- preflight -------------------------------------------------------------------------
[[ -x /usr/bin/time ]] || die "/usr/bin/time missing (apt-get install -y time)"
for cmd in g++ node npm sha256sum timeout; do
  command -v "$cmd" >/dev/null || die "$cmd missing"
done
"$PY" -c 'import pandas' 2>/dev/null || die "$PY cannot import pandas (apt-get install -y python3-pandas)"

mkdir -p "$ROOT/bench/data" "$OUT" "$LOGS"
rm -f "$TSV" "$OUT"/*.csv "$LOGS"/* "$RUNNEL_OUT"

# --- build -------------------------------------------------------------------------------
BENCH_BIN="$BUILD_DIR/bench"
log "building the generator in $BUILD_DIR"
if cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DRUNNEL_BUILD_TESTS=OFF -DRUNNEL_BUILD_BENCH=ON \
      >"$LOGS/cmake.log" 2>&1 &&
   ninja -C "$BUILD_DIR" runnel_bench_gen_asof >"$LOGS/ninja.log" 2>&1; then
  :
else
  # The generator needs only the standard library: build it directly if the tree does not
  # configure (the engine's modules may be mid-edit).
  log "cmake/ninja failed (see $LOGS/cmake.log, ninja.log); building with g++ directly"
  mkdir -p "$BENCH_BIN"
  g++ -std=c++20 -O2 -Wall -Wextra -o "$BENCH_BIN/runnel_bench_gen_asof" "$ROOT/bench/gen_asof.cc"
fi
GEN="$BENCH_BIN/runnel_bench_gen_asof"

if ! skipped duckdb_2t; then
  log "npm ci in bench/duckdb"
  (cd "$ROOT/bench/duckdb" && npm ci --no-audit --no-fund --loglevel=error) >"$LOGS/npm.log" 2>&1 ||
    die "npm ci failed, see $LOGS/npm.log"
fi

HAVE_RUNNEL=0
if ! skipped runnel; then
  [[ -x "$RUNNEL_BIN" ]] || die "no Runnel binary at $RUNNEL_BIN (ninja -C build runnel)"
  "$RUNNEL_BIN" check "$ROOT/bench/asof_join.toml" >"$LOGS/runnel_check.log" 2>&1 ||
    die "runnel check bench/asof_join.toml failed, see $LOGS/runnel_check.log"
  HAVE_RUNNEL=1
  if [[ -n "$RUNNEL_BASELINE_BIN" ]]; then
    [[ -x "$RUNNEL_BASELINE_BIN" ]] || die "no baseline binary at $RUNNEL_BASELINE_BIN"
  fi
fi

# --- timing --------------------------------------------------------------------------------
source "$ROOT/scripts/bench_measure.sh"

{
  echo "date: $(date -u +%FT%TZ)"
  echo "nproc: $(nproc)"
  echo "node: $(node --version)"
  echo "duckdb: $(node -p "require('$ROOT/bench/duckdb/node_modules/@duckdb/node-api/package.json').version" 2>/dev/null || echo -)"
  echo "pandas: $("$PY" -c 'import pandas; print(pandas.__version__)')"
  echo "runnel: $([[ $HAVE_RUNNEL == 1 ]] && "$RUNNEL_BIN" --version 2>&1 | head -n 1 || echo skipped)"
  echo "runnel baseline: ${RUNNEL_BASELINE_BIN:-none}"
  echo "load at start: $(cut -d' ' -f1-3 /proc/loadavg)"
} >"$RESULTS/machine.txt"
cat "$RESULTS/machine.txt" >&2

# One generation, timed once: the files are deterministic, and the join is what is measured.
log "generating 10 M left and 1 M right rows (1 000 keys, seed $SEED)"
measure gen_asof 1 "$GEN" --left-rows 10000000 --right-rows 1000000 --keys 1000 --seed "$SEED" \
  --left "$LEFT" --right "$RIGHT"
[[ -s "$LEFT" && -s "$RIGHT" ]] || die "generator produced no data"
for f in "$LEFT" "$RIGHT"; do
  echo "data: $f, $(stat -c %s "$f") bytes, $(($(wc -l <"$f") - 1)) rows, sha256 $(sha256sum "$f" | cut -d' ' -f1)"
done | tee -a "$RESULTS/machine.txt" >&2
cat "$LEFT" "$RIGHT" >/dev/null   # every program reads the files from the page cache

for run in $(seq 1 "$RUNS"); do
  skipped pandas || measure pandas "$run" "$PY" "$ROOT/bench/pandas/asof.py" "$LEFT" "$RIGHT" "$OUT/pandas.csv"
  skipped duckdb_2t || measure duckdb_2t "$run" node "$ROOT/bench/duckdb/asof.mjs" "$LEFT" "$RIGHT" "$OUT/duckdb_2t.csv" 2
  if [[ $HAVE_RUNNEL == 1 && -n "$RUNNEL_BASELINE_BIN" ]]; then
    rm -rf "$RUNNEL_STATE" "$RUNNEL_OUT"
    measure runnel_baseline "$run" timeout "$RUNNEL_TIMEOUT" \
      "$RUNNEL_BASELINE_BIN" run "$ROOT/bench/asof_join.toml" --state-dir "$RUNNEL_STATE" --no-dashboard
  fi
  if [[ $HAVE_RUNNEL == 1 ]]; then
    rm -rf "$RUNNEL_STATE" "$RUNNEL_OUT"
    measure runnel "$run" timeout "$RUNNEL_TIMEOUT" \
      "$RUNNEL_BIN" run "$ROOT/bench/asof_join.toml" --state-dir "$RUNNEL_STATE" --no-dashboard
  fi
done
echo "load at end: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$RESULTS/machine.txt" >&2

# --- phases, agreement, table ------------------------------------------------------------
{
  for name in pandas duckdb_2t runnel; do
    f="$LOGS/$name.$RUNS.err"
    [[ -s "$f" ]] && echo "$name (run $RUNS): $(grep -v '^runnel: results' "$f" | tail -n 1)"
  done
  true
} | tee "$RESULTS/phases.txt" >&2

CHECK=()
[[ -s "$OUT/duckdb_2t.csv" ]] && CHECK+=("$OUT/duckdb_2t.csv")
[[ $HAVE_RUNNEL == 1 ]] && CHECK+=("$RUNNEL_OUT")
CHECK_STATUS=0
if [[ -s "$OUT/pandas.csv" && ${#CHECK[@]} -gt 0 ]]; then
  log "checking outputs against pandas' (row count, every row after sorting by key, ts; sha256)"
  "$PY" "$ROOT/bench/check_asof_outputs.py" "$OUT/pandas.csv" "${CHECK[@]}" \
    | tee "$RESULTS/check.txt" >&2 || CHECK_STATUS=1
fi

"$PY" "$ROOT/bench/summarize_timings.py" "$TSV" | tee "$RESULTS/summary.md"
log "results in $RESULTS (summary.md, timings.tsv, machine.txt, phases.txt, check.txt, logs/)"
(( FAILURES == 0 )) || die "$FAILURES run(s) failed"
(( CHECK_STATUS == 0 )) || die "outputs disagree (see $RESULTS/check.txt)"
