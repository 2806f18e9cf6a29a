#!/usr/bin/env bash
# Streaming-window benchmark (docs/benchmarks.md, "Streaming windows"): generates ROWS
# readings of DEVICES devices (bench/gen_readings.cc, one reading per device every PERIOD_MS,
# +-1.5 s jitter), then replays them through bench/stream_window.toml: 1-minute tumbling
# windows per device, avg/min/max/count, emit = "updates", CSV changelog to /dev/null.
#
# For the 10 %, 50 % and 100 % prefixes of the stream it runs Runnel in replay mode and
# reports wall time, throughput and peak RSS (VmHWM, from /usr/bin/time), and samples VmRSS
# against progress (bytes read, from /proc/PID/io) while the full run goes. Then it runs the
# full stream statically (--replay, same pipeline) for the replay/static ratio.
#
# With PIPELINE=bench/stream_asof.toml SECOND=cal it also generates a second stream of the
# same size and span (seed + 1) for the pipeline's source `cal` (linked as
# data/stream_cal.csv), for the as-of join + dedup variant ("Streaming as-of join").
#
# usage: bench/stream_window.sh
# environment (defaults): ROWS=50000000 DEVICES=1000 PERIOD_MS=10000 SEED=42 RUNS=1
#   PIPELINE=bench/stream_window.toml SECOND= (a second source name, see above)
#   BUILD_DIR=build-stream (configured with -DRUNNEL_BUILD_BENCH=ON; built here if needed)
#   RUNNEL_BIN=$BUILD_DIR/app/runnel   KEEP_DATA=1 (0: delete the generated CSVs at the end)
# Writes bench/data/stream_window_*.csv (about 29 bytes per row: 1.5 GB for 50 M rows; checks
# free space first) and bench/results/stream_window/ (logs, samples.tsv, summary.md).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ROWS=${ROWS:-50000000}
DEVICES=${DEVICES:-1000}
PERIOD_MS=${PERIOD_MS:-10000}
SEED=${SEED:-42}
RUNS=${RUNS:-1}
BUILD_DIR=${BUILD_DIR:-$ROOT/build-stream}
RUNNEL_BIN=${RUNNEL_BIN:-$BUILD_DIR/app/runnel}
KEEP_DATA=${KEEP_DATA:-1}

DATA_DIR="$ROOT/bench/data"
RESULTS="$ROOT/bench/results/stream_window"
FULL="$DATA_DIR/stream_window_${ROWS}.csv"
LINK="$DATA_DIR/stream_window.csv"  # what bench/stream_window.toml reads
PIPELINE=${PIPELINE:-$ROOT/bench/stream_window.toml}
SECOND=${SECOND:-}
if [[ -n "$SECOND" ]]; then RESULTS="$ROOT/bench/results/stream_$(basename "$PIPELINE" .toml)"; fi
STATE="$RESULTS/state"

log() { printf '[stream_window %s] %s\n' "$(date +%T)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

[[ -x /usr/bin/time ]] || die "/usr/bin/time missing (apt-get install -y time)"
mkdir -p "$DATA_DIR" "$RESULTS"
rm -f "$RESULTS"/*.log "$RESULTS"/samples.tsv "$RESULTS"/runs.tsv

# --- build ---------------------------------------------------------------------------------
if [[ ! -x "$BUILD_DIR/bench/runnel_bench_gen_readings" || ! -x "$RUNNEL_BIN" ]]; then
  log "building in $BUILD_DIR"
  cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DRUNNEL_BUILD_BENCH=ON >"$RESULTS/cmake.log"
  ninja -C "$BUILD_DIR" runnel runnel_bench_gen_readings >"$RESULTS/build.log"
fi

# --- data ----------------------------------------------------------------------------------
need_mb=$(( ROWS * 29 * 17 / 10 / 1000000 + 100 ))  # full file + 10 % and 50 % prefixes
avail_mb=$(df -Pm "$DATA_DIR" | awk 'NR == 2 { print $4 }')
if [[ ! -s "$FULL" ]]; then
  (( avail_mb > need_mb )) || die "needs about $need_mb MB in $DATA_DIR, $avail_mb MB free"
  log "generating $ROWS readings -> $FULL"
  "$BUILD_DIR/bench/runnel_bench_gen_readings" --rows "$ROWS" --devices "$DEVICES" \
    --seed "$SEED" --span-ms $(( ROWS / DEVICES * PERIOD_MS )) --out "$FULL"
fi
declare -A FILE_OF SECOND_OF
for pct in 10 50; do
  f="$DATA_DIR/stream_window_${ROWS}_${pct}pct.csv"
  [[ -s "$f" ]] || head -n $(( ROWS * pct / 100 + 1 )) "$FULL" >"$f"
  FILE_OF[$pct]=$f
done
FILE_OF[100]=$FULL
if [[ -n "$SECOND" ]]; then
  SECOND_FULL="$DATA_DIR/stream_${SECOND}_${ROWS}.csv"
  if [[ ! -s "$SECOND_FULL" ]]; then
    log "generating $ROWS readings for source $SECOND -> $SECOND_FULL"
    "$BUILD_DIR/bench/runnel_bench_gen_readings" --rows "$ROWS" --devices "$DEVICES" \
      --seed $(( SEED + 1 )) --span-ms $(( ROWS / DEVICES * PERIOD_MS )) --out "$SECOND_FULL"
  fi
  for pct in 10 50; do
    f="$DATA_DIR/stream_${SECOND}_${ROWS}_${pct}pct.csv"
    [[ -s "$f" ]] || head -n $(( ROWS * pct / 100 + 1 )) "$SECOND_FULL" >"$f"
    SECOND_OF[$pct]=$f
  done
  SECOND_OF[100]=$SECOND_FULL
fi

# --- runs ----------------------------------------------------------------------------------
# run LABEL ROWS FILE [extra runnel args...]: one timed run; appends to runs.tsv. While it
# runs, samples VmRSS/VmHWM and bytes read every 0.5 s into samples.tsv.
run() {
  local label=$1 rows=$2 file=$3 pct=$4
  shift 4
  ln -sfn "$file" "$LINK"
  [[ -z "$SECOND" ]] || ln -sfn "${SECOND_OF[$pct]}" "$DATA_DIR/stream_$SECOND.csv"
  rm -rf "$STATE"
  local size
  size=$(stat -L -c %s "$file")
  local logf="$RESULTS/$label.log"
  local start end
  start=$(date +%s.%N)
  /usr/bin/time -f "%e %M %U %S" -o "$RESULTS/$label.time" \
    "$RUNNEL_BIN" run "$PIPELINE" --state-dir "$STATE" --no-dashboard "$@" >"$logf" 2>&1 &
  local tpid=$!
  local pid=""
  while [[ -z "$pid" ]] && kill -0 "$tpid" 2>/dev/null; do
    pid=$(pgrep -P "$tpid" -x runnel || true)
    sleep 0.05
  done
  while [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; do
    local rss hwm rchar
    rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status" 2>/dev/null || true)
    hwm=$(awk '/^VmHWM:/ { print $2 }' "/proc/$pid/status" 2>/dev/null || true)
    rchar=$(awk '/^rchar:/ { print $2 }' "/proc/$pid/io" 2>/dev/null || true)
    if [[ -n "$rss" && -n "$rchar" ]]; then
      printf '%s\t%.3f\t%s\t%s\t%s\n' "$label" "$(echo "$(date +%s.%N) - $start" | bc)" \
        "$(echo "scale=3; 100 * $rchar / $size" | bc)" "$rss" "$hwm" >>"$RESULTS/samples.tsv"
    fi
    sleep 0.5
  done
  wait "$tpid" || die "$label failed: $(tail -3 "$logf")"
  end=$(date +%s.%N)
  read -r wall maxrss user sys <"$RESULTS/$label.time"
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$label" "$rows" "$wall" "$maxrss" "$user" "$sys" \
    >>"$RESULTS/runs.tsv"
  log "$label: $rows rows in $wall s, peak RSS $((maxrss / 1024)) MB ($(tail -2 "$logf" | head -1))"
}

for r in $(seq 1 "$RUNS"); do
  for pct in 10 50 100; do
    run "replay_${pct}pct_run$r" $(( ROWS * pct / 100 )) "${FILE_OF[$pct]}" "$pct"
  done
  static_args=(--replay "readings=$FULL")
  [[ -z "$SECOND" ]] || static_args+=(--replay "$SECOND=$SECOND_FULL")
  run "static_100pct_run$r" "$ROWS" "$FULL" 100 "${static_args[@]}"
done

# --- summary -------------------------------------------------------------------------------
{
  echo "| run | rows | wall s | records/s | peak RSS (VmHWM) MB | user s | sys s |"
  echo "|---|---:|---:|---:|---:|---:|---:|"
  awk -F'\t' '{ printf "| %s | %d | %.2f | %.2f M | %.0f | %.2f | %.2f |\n",
                 $1, $2, $3, $2 / $3 / 1e6, $4 / 1024, $5, $6 }' "$RESULTS/runs.tsv"
  echo
  # Medians over the runs (the middle one; for an even count, the lower middle).
  sort -t$'\t' -k1,1 "$RESULTS/runs.tsv" | awk -F'\t' '
    { name = $1; sub(/_run[0-9]+$/, "", name); n[name]++; wall[name, n[name]] = $3
      cpu[name, n[name]] = $5 + $6; rows[name] = $2; hwm[name] = $4 > hwm[name] ? $4 : hwm[name] }
    function median(a, name, k,   i, j, t, v) {
      for (i = 1; i <= k; i++) v[i] = a[name, i]
      for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
      return v[int((k + 1) / 2)] }
    END {
      print "| stream | rows | runs | median wall s | records/s (wall) | median CPU s | records/s per CPU s | peak RSS MB |"
      print "|---|---:|---:|---:|---:|---:|---:|---:|"
      split("replay_10pct replay_50pct replay_100pct static_100pct", order, " ")
      for (i = 1; i <= 4; i++) {
        name = order[i]
        if (!(name in n)) continue
        w = median(wall, name, n[name]); c = median(cpu, name, n[name])
        printf "| %s | %d | %d | %.2f | %.2f M | %.2f | %.2f M | %.0f |\n", name, rows[name], n[name], w,
               rows[name] / w / 1e6, c, rows[name] / c / 1e6, hwm[name] / 1024
        if (name == "replay_100pct") rw = w; if (name == "static_100pct") sw = w
      }
      if (sw > 0) printf "\nreplay / static, median wall time over the full stream: %.2f\n", rw / sw
    }' 
  echo
  echo "VmRSS during the full replay, by progress (bytes read / file size):"
  echo
  echo "| progress | elapsed s | VmRSS MB | VmHWM MB |"
  echo "|---:|---:|---:|---:|"
  awk -F'\t' '$1 ~ /^replay_100pct_run1$/ {
      p = $3 + 0; bucket = int(p / 10) * 10
      if (!(bucket in seen)) { seen[bucket] = 1
        printf "| %d %% | %.1f | %.0f | %.0f |\n", p, $2, $4 / 1024, $5 / 1024 } }' \
    "$RESULTS/samples.tsv"
} | tee "$RESULTS/summary.md"

rm -f "$LINK" "$DATA_DIR/stream_$SECOND.csv"
if [[ "$KEEP_DATA" == 0 ]]; then rm -f "$FULL" "${FILE_OF[10]}" "${FILE_OF[50]}"; fi
