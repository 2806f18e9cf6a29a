"""A live `runnel run` with its dashboard, for the web tests, screenshots and benchmark.

DashboardRun writes a pipeline (by default one whose follow-mode CSV source reads logs/*.csv)
in a temporary directory, starts runnel on it (dashboard on a free loopback port unless told otherwise), reads
the dashboard's address from the startup line, and appends readings on request.
"""
import os
import re
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

PIPELINE = """
[dashboard]
{dashboard}

[[source]]
name = "env"
file = "logs"
format = "csv"
mode = "follow"
time = "ts"
fields = {{ device = "string", ts = "int", temp = "float", hum = "float" }}

[[view]]
name = "warm"
from = "env"
where = "temp > 20"
select = ["device", "ts", "temp"]

[[view]]
name = "env_10s"
from = "env"
window = {{ type = "tumbling", size = "10s" }}
group_by = ["device"]
aggregate = ["n = count()", "avg_temp = avg(temp)", "max_hum = max(hum)"]
emit = "updates"

[[sink]]
from = "env_10s"
table = "env_10s"
"""


class DashboardRun:
    def __init__(self, runnel, dashboard='listen = "127.0.0.1:0"', extra_files=None,
                 pipeline=PIPELINE):
        self.dir = tempfile.TemporaryDirectory(prefix="runnel-web-")
        self.root = self.dir.name
        os.makedirs(os.path.join(self.root, "logs"))
        for name, text in (extra_files or {}).items():
            os.makedirs(os.path.dirname(os.path.join(self.root, name)), exist_ok=True)
            with open(os.path.join(self.root, name), "w") as f:
                f.write(text)
        self.pipeline = os.path.join(self.root, "pipeline.toml")
        with open(self.pipeline, "w") as f:
            f.write(pipeline.format(dashboard=dashboard))
        self.log_path = os.path.join(self.root, "logs", "env.csv")
        with open(self.log_path, "w") as f:
            f.write("device,ts,temp,hum\n")
        self.runnel = runnel
        self.next_ts = 1_700_000_000_000
        self.proc = None
        self.url = None

    def start(self, timeout=10):
        self.stderr_path = os.path.join(self.root, "stderr.txt")
        self.stderr = open(self.stderr_path, "w")
        self.proc = subprocess.Popen(
            [self.runnel, "run", self.pipeline, "--state-dir", os.path.join(self.root, "state")],
            cwd=self.root, stdout=subprocess.DEVNULL, stderr=self.stderr)
        deadline = time.time() + timeout
        while time.time() < deadline:
            text = self.stderr_text()
            m = re.search(r"dashboard: (https?://\S+)", text)
            if m:
                self.url = m.group(1)
                return self
            if self.proc.poll() is not None:
                raise RuntimeError(f"runnel exited with {self.proc.returncode}: {text}")
            time.sleep(0.05)
        raise RuntimeError("no 'dashboard:' line from runnel within %ss: %s" % (timeout, self.stderr_text()))

    def stderr_text(self):
        with open(self.stderr_path) as f:
            return f.read()

    def append(self, rows):
        """rows: (device, temp, hum) tuples, one second of event time apart."""
        with open(self.log_path, "a") as f:
            for device, temp, hum in rows:
                f.write(f"{device},{self.next_ts},{temp},{hum}\n")
                self.next_ts += 1000

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc:
            self.stderr.close()
        return self.proc.returncode if self.proc else None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        self.dir.cleanup()


def get(url, headers=None, method="GET"):
    """(status, headers, body bytes) without raising on HTTP errors."""
    req = urllib.request.Request(url, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(req, timeout=10) as res:
            return res.status, res.headers, res.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def wait_for(predicate, timeout=10, what="condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")
