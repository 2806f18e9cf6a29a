"""A live `runnel run` with its dashboard, for the web tests, screenshots and benchmark.

DashboardRun writes a pipeline (by default one whose follow-mode CSV source reads logs/*.csv)
in a temporary directory, starts runnel on it (dashboard on a free loopback port unless told
otherwise), reads the dashboard's address from the startup line, and appends readings on
request. get() is an HTTP GET that returns error statuses instead of raising.
"""
import os
import re
import sys
import tempfile
import urllib.error
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from pipeline_files import write_file  # noqa: E402
from runnel_process import RunnelProcess  # noqa: E402

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
        for name, text in (extra_files or {}).items():
            write_file(os.path.join(self.root, name), text)
        self.pipeline = write_file(os.path.join(self.root, "pipeline.toml"),
                                   pipeline.format(dashboard=dashboard))
        self.log_path = write_file(os.path.join(self.root, "logs", "env.csv"),
                                   "device,ts,temp,hum\n")
        self.runnel = runnel
        self.next_ts = 1_700_000_000_000
        self.process = None
        self.url = None

    def start(self, timeout=10):
        self.process = RunnelProcess(
            self.runnel, ["run", self.pipeline, "--state-dir", os.path.join(self.root, "state")],
            os.path.join(self.root, "stderr.txt"), cwd=self.root).start()
        line = self.process.wait_for(
            lambda: re.search(r"dashboard: (https?://\S+)", self.stderr_text()),
            "a 'dashboard:' line from runnel", timeout)
        self.url = line.group(1)
        return self

    def stderr_text(self):
        return self.process.log()

    def append(self, rows):
        """rows: (device, temp, hum) tuples, one second of event time apart."""
        with open(self.log_path, "a") as f:
            for device, temp, hum in rows:
                f.write(f"{device},{self.next_ts},{temp},{hum}\n")
                self.next_ts += 1000

    def stop(self):
        """SIGTERM (if still running); returns the exit code (None if never started)."""
        if self.process is None:
            return None
        if self.process.running():
            self.process.stop(timeout=15, check=False)
        return self.process.returncode

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
