#!/usr/bin/env python3
"""The dashboard in a real browser: headless Debian Chromium driven by playwright-core loads
the views page of a follow-mode pipeline while readings are appended to its input, and checks
that the live table and the uPlot chart update without a reload (browser_check.cjs).

usage: browser_test.py RUNNEL NODE_MODULES
"""
import os
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from dashboard_run import DashboardRun  # noqa: E402

RUNNEL, NODE_MODULES = sys.argv[1], sys.argv[2]


def main():
    if not os.path.exists("/usr/bin/chromium"):
        sys.exit("error: /usr/bin/chromium is missing (scripts/install_deps.sh installs Debian's chromium)")
    with DashboardRun(RUNNEL) as run:
        run.append([("a", 20.0, 40), ("b", 18.0, 50)])
        env = dict(os.environ, NODE_PATH=NODE_MODULES)
        proc = subprocess.Popen(["node", os.path.join(HERE, "browser_check.cjs"), "check", run.url],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
        ready = proc.stdout.readline()
        print(ready.strip())
        assert ready.startswith("ready"), ready + proc.stdout.read()
        stop = threading.Event()

        def feed():
            temp = 20.0
            while not stop.is_set():
                temp += 0.5
                run.append([("a", temp, 41), ("b", temp - 2, 51), ("c", temp + 1, 60)])
                time.sleep(0.3)

        feeder = threading.Thread(target=feed)
        feeder.start()
        try:
            out, _ = proc.communicate(timeout=60)
        finally:
            stop.set()
            feeder.join()
        print(out.strip())
        assert proc.returncode == 0, out
        assert run.stop() == 0
    print("browser test passed")


if __name__ == "__main__":
    main()
