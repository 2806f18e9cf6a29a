#!/usr/bin/env bash
# Persistence benchmark (docs/benchmarks.md, "Persistence"): ingest rate with the input log on
# vs off (replay vs static source, same file, interleaved), checkpoint time vs open groups
# (1k/10k/100k), and recovery time after kill -9 with 1 M records logged since the last
# checkpoint. Drives the real binary through bench/persistence_bench.py.
#
# usage: scripts/bench_persistence.sh
# environment (defaults): RUNS=3 RECORDS=2000000 RECOVERY_RECORDS=1000000
#   GROUPS_LIST=0,1000,10000,100000 ONLY=ingest,checkpoint,recovery RUNNEL_BIN=build/app/runnel
# Everything it writes goes to bench/results/persistence/ (git-ignored): data, state
# directories, logs, summary.md.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RUNNEL_BIN=${RUNNEL_BIN:-$ROOT/build/app/runnel}
RESULTS="$ROOT/bench/results/persistence"
PY=/usr/bin/python3

[[ -x "$RUNNEL_BIN" ]] || { echo "no Runnel binary at $RUNNEL_BIN (cmake --build build --target runnel)" >&2; exit 1; }
mkdir -p "$RESULTS"
{
  echo "date: $(date -u +%FT%TZ)"
  echo "nproc: $(nproc)"
  echo "runnel: $("$RUNNEL_BIN" --version 2>&1 | head -n 1)"
  echo "load at start: $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee "$RESULTS/machine.txt" >&2

"$PY" "$ROOT/bench/persistence_bench.py" "$RUNNEL_BIN" "$RESULTS" \
  --runs "${RUNS:-3}" --records "${RECORDS:-2000000}" \
  --recovery-records "${RECOVERY_RECORDS:-1000000}" --groups "${GROUPS_LIST:-0,1000,10000,100000}" \
  --only "${ONLY:-ingest,checkpoint,recovery}" | tee "$RESULTS/summary.md"
echo "load at end: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$RESULTS/machine.txt" >&2
