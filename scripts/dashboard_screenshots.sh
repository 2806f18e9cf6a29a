#!/usr/bin/env bash
# Takes a screenshot of each dashboard page (docs/images/dashboard-*.png) with headless Debian
# Chromium, on a follow-mode pipeline fed with a few minutes of readings.
# Needs a built runnel and the browser test's npm packages: cmake --build build.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${BUILD_DIR:-build}
exec /usr/bin/python3 - "$PWD/$build_dir/app/runnel" "$PWD/$build_dir/tests/web/npm/node_modules" "$PWD/docs/images" <<'PY'
import math, os, subprocess, sys, time
sys.path.insert(0, "tests/web")
from dashboard_run import DashboardRun, wait_for, get
runnel, modules, out = sys.argv[1:]
os.makedirs(out, exist_ok=True)
with DashboardRun(runnel) as run:
    rows = []
    for i in range(240):
        for d, base in (("greenhouse-1", 21), ("greenhouse-2", 18.5), ("shed", 14)):
            rows.append((d, round(base + 3 * math.sin(i / 20 + base), 2), round(55 + 10 * math.cos(i / 15), 1)))
    run.append(rows)
    wait_for(lambda: b'"records":720' in get(run.url + "api/v1/status")[2], what="records")
    time.sleep(1)
    subprocess.run(["node", "tests/web/browser_check.cjs", "screenshots", run.url, out],
                   check=True, env=dict(os.environ, NODE_PATH=modules))
PY
