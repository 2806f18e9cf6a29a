#!/usr/bin/env bash
# The main job: installs dependencies, builds Runnel, starts a local mosquitto on loopback, a
# simulated fleet of 20 ESP32 environment nodes (`runnel simulate`), and Runnel with its
# dashboard on examples/live_fleet.toml (dedup, as-of join with a calibration log, 1-minute
# windows, device health, MQTT alerts). Runs until Ctrl-C (or DEMO_SECONDS), then shows the
# results. Also runs the batch example over a year of real air-quality data first.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install_deps.sh
NINJA_TARGETS=runnel scripts/build.sh
runnel=build/app/runnel

echo "== Batch: a year of real air-quality data (examples/airquality.toml)"
"$runnel" run examples/airquality.toml --reset-state --no-dashboard
head -n 4 examples/out/air_daily.csv
echo

work=$(mktemp -d /tmp/runnel-demo.XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT

# The pipeline names tcp://127.0.0.1:1883: start mosquitto there unless a broker already runs.
if (exec 3<>/dev/tcp/127.0.0.1/1883) 2>/dev/null; then
  echo "== Using the MQTT broker already listening on 127.0.0.1:1883"
else
  {
    [ "$(id -u)" -eq 0 ] && echo "user root"
    echo "listener 1883 127.0.0.1"
    echo "allow_anonymous true"
    echo "max_queued_messages 0"
  } >"$work/mosquitto.conf"
  mosquitto -c "$work/mosquitto.conf" >"$work/mosquitto.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/1883) 2>/dev/null && break; sleep 0.1; done
  echo "== mosquitto on 127.0.0.1:1883 (log: $work/mosquitto.log)"
fi

echo "== runnel simulate: 20 devices, 40 msg/s, 2 s disorder, 1% duplicates, 1% malformed"
"$runnel" simulate --profile esp32-bme280 --devices 20 --rate 40 --disorder 2s \
  --duplicate-fraction 0.01 --malformed-fraction 0.01 --broker tcp://127.0.0.1:1883 \
  >"$work/simulate.log" 2>&1 &
pids+=($!)

echo "== runnel run examples/live_fleet.toml (Ctrl-C to stop; results stay in"
echo "   examples/runnel-state-live/runnel.db and a restart continues where it stopped)"
echo "   the dashboard's address is on the 'runnel: dashboard:' line below (127.0.0.1:8080 when free)"
echo "   MQTT results: mosquitto_sub -t 'runnel/#' -v"
"$runnel" run examples/live_fleet.toml &
runnel_pid=$!
if [ -n "${DEMO_SECONDS:-}" ]; then
  sleep "$DEMO_SECONDS"
  kill -TERM "$runnel_pid"
fi
trap 'kill -TERM "$runnel_pid" 2>/dev/null || true' INT
wait "$runnel_pid" || true
trap cleanup EXIT

echo
echo "== Latest 1-minute results (table env_1m):"
sqlite3 -header -column examples/runnel-state-live/runnel.db \
  "SELECT device, window_start, round(avg_temp, 2) AS avg_temp, max_temp, n FROM env_1m
   ORDER BY window_start DESC, device LIMIT 8"
echo "== Device health (table env_status):"
sqlite3 -header -column examples/runnel-state-live/runnel.db \
  "SELECT count(*) AS devices, sum(online) AS online FROM env_status"
