#!/usr/bin/env bash
# Takes a screenshot of each dashboard page (docs/images/dashboard-*.png) with headless Debian
# Chromium on the README's live fleet, started here on its own: a mosquitto on a free loopback
# port (tests/support/mosquitto_broker.py), `runnel simulate` (6 ESP32 nodes, a few malformed
# payloads) and `runnel run` on a copy of examples/live_fleet.toml pointed at that broker.
# Needs a built runnel and the browser test's npm packages: cmake --build build.
# FLEET_SECONDS (default 60) is how long the fleet reports before the screenshots.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${BUILD_DIR:-build}
exec /usr/bin/python3 - "$PWD/$build_dir/app/runnel" "$PWD/$build_dir/tests/web/npm/node_modules" "$PWD/docs/images" <<'PY'
import os, re, shutil, subprocess, sys, tempfile, time
sys.path.insert(0, "tests/web")
sys.path.insert(0, "tests/support")
from mosquitto_broker import MosquittoBroker
from runnel_process import RunnelProcess
runnel, modules, out = sys.argv[1:]
os.makedirs(out, exist_ok=True)
with tempfile.TemporaryDirectory(prefix="runnel-screenshots-") as tmp, \
        MosquittoBroker(os.path.join(tmp, "broker")) as broker:
    with open("examples/live_fleet.toml") as f:
        pipeline = f.read()
    old = '"tcp://127.0.0.1:1883"'
    if old not in pipeline:
        sys.exit(f"examples/live_fleet.toml no longer names {old}: update this script")
    # A free port for the dashboard: the address is read from runnel's log line.
    pipeline = pipeline.replace(old, f'"{broker.uri}"') + '\n[dashboard]\nlisten = "127.0.0.1:0"\n'

    os.makedirs(os.path.join(tmp, "data"))
    shutil.copy("examples/data/calibration.csv", os.path.join(tmp, "data"))
    with open(os.path.join(tmp, "live_fleet.toml"), "w") as f:
        f.write(pipeline)
    run = RunnelProcess(runnel, ["run", os.path.join(tmp, "live_fleet.toml"), "--state-dir",
                                 os.path.join(tmp, "state")], os.path.join(tmp, "runnel.log"))
    simulate = None
    try:
        with run:
            url = run.wait_for(lambda: re.search(r"dashboard: (https?://\S+)", run.log()),
                               "the dashboard").group(1)
            run.wait_for_log("source 'env': subscribed to")
            simulate = subprocess.Popen(
                [runnel, "simulate", "--profile", "esp32-bme280", "--devices", "6", "--rate", "12",
                 "--disorder", "2s", "--duplicate-fraction", "0.01", "--malformed-fraction", "0.03",
                 "--broker", broker.uri], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            seconds = int(os.environ.get("FLEET_SECONDS", "60"))
            print(f"the fleet reports to {url} for {seconds} s")
            time.sleep(seconds)
            subprocess.run(["node", "tests/web/browser_check.cjs", "screenshots", url, out, "env_cal"],
                           check=True, env=dict(os.environ, NODE_PATH=modules))
            run.stop()
    finally:
        if simulate:
            simulate.terminate()
            simulate.wait(timeout=15)
PY
