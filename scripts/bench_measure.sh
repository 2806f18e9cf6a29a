# Shared by the bench_*.sh scripts (sourced, not run). The caller defines log, LOGS (a
# directory for each run's output) and TSV (the timings file bench/summarize_timings.py reads).
FAILURES=0
# measure NAME RUN COMMAND...: runs COMMAND under /usr/bin/time, appends a line to timings.tsv.
measure() {
  local name=$1 run=$2
  shift 2
  local load
  load=$(cut -d' ' -f1 /proc/loadavg)
  if /usr/bin/time -f '%e %M %U %S' -o "$LOGS/time.tmp" "$@" \
        >"$LOGS/$name.$run.out" 2>"$LOGS/$name.$run.err"; then
    local wall rss user sys
    read -r wall rss user sys < <(tail -n 1 "$LOGS/time.tmp")
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$run" "$wall" "$rss" "$user" "$sys" "$load" >>"$TSV"
    log "$name run $run: ${wall} s, $((rss / 1024)) MB (load $load)"
  else
    log "$name run $run FAILED: see $LOGS/$name.$run.err"
    FAILURES=$((FAILURES + 1))
  fi
}
