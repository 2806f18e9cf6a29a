#!/usr/bin/env python3
"""`runnel run` on a follow-mode source: a live run that a signal ends.

Starts runnel on a directory in follow mode with two table sinks (the records, and 10-second
tumbling windows with emit = "updates"), then appends lines to the existing file (one of them
in two writes, so that a partial line sits in the file for a while), and adds a new file. Each
change must show up in state/runnel.db, read with sqlite3 while runnel runs. Then SIGTERM:
runnel must exit 0 within a few seconds, the tables must keep what was committed, and the
window still open must not have been forced closed (emit = "updates" already shows it).

usage: follow_test.py RUNNEL
"""
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from pipeline_files import write_file  # noqa: E402
from runnel_outputs import try_query  # noqa: E402
from runnel_process import RunnelProcess  # noqa: E402
from waiting import WaitTimeout  # noqa: E402

PIPELINE = """
[[source]]
name = "env"
file = "logs"
format = "csv"
mode = "follow"
time = "ts"
fields = { device = "string", ts = "int", temp = "float" }

[[view]]
name = "readings"
from = "env"
select = ["device", "ts", "temp"]

[[view]]
name = "env_10s"
from = "env"
window = { type = "tumbling", size = "10s" }
group_by = ["device"]
aggregate = ["n = count()", "total = sum(temp)"]
emit = "updates"

[[sink]]
from = "readings"
table = "readings"

[[sink]]
from = "env_10s"
table = "env_10s"
"""


def query(db, sql):
    found = try_query(db, sql)
    return None if found is None else sorted(found)


def wait_for_query(db, sql, want, what, run, timeout=10.0):
    try:
        run.wait_for(lambda: query(db, sql) == want, what, timeout)
    except WaitTimeout:
        raise AssertionError(f"{what}: expected {want}, got {query(db, sql)}") from None


def append(path, text):
    with open(path, "a", encoding="utf-8") as f:
        f.write(text)
        f.flush()


def main():
    runnel = os.path.abspath(sys.argv[1])
    with tempfile.TemporaryDirectory(prefix="runnel-follow-") as tmp:
        os.makedirs(os.path.join(tmp, "logs"))
        write_file(os.path.join(tmp, "pipeline.toml"), PIPELINE)
        first = os.path.join(tmp, "logs", "2024-01-01.csv")
        with open(first, "w", encoding="utf-8") as f:
            f.write("device,ts,temp\na,1000,1.5\nb,2000,2\n")
        db = os.path.join(tmp, "state", "runnel.db")
        readings = "SELECT device, ts, temp FROM readings"
        windows = "SELECT window_start, device, n, total FROM env_10s"
        with RunnelProcess(runnel, ["run", "pipeline.toml", "--state-dir", "state"],
                           os.path.join(tmp, "runnel.log"), cwd=tmp) as proc:
            wait_for_query(db, readings, [("a", 1000, 1.5), ("b", 2000, 2.0)], "existing lines",
                           proc)
            append(first, "a,3000,2.5\na,120")  # the second line is not complete yet
            wait_for_query(db, readings, [("a", 1000, 1.5), ("a", 3000, 2.5), ("b", 2000, 2.0)],
                           "an appended line", proc)
            time.sleep(0.3)
            if len(query(db, readings)) != 3:
                raise AssertionError("a partial line was consumed before its line break")
            append(first, "00,4\n")
            wait_for_query(db, readings, [("a", 1000, 1.5), ("a", 3000, 2.5), ("a", 12000, 4.0),
                                          ("b", 2000, 2.0)], "a line completed later", proc)
            with open(os.path.join(tmp, "logs", "2024-01-02.csv"), "w", encoding="utf-8") as f:
                f.write("device,ts,temp\nb,13000,3\nc,14000,-1\n")
            wait_for_query(db, readings, [("a", 1000, 1.5), ("a", 3000, 2.5), ("a", 12000, 4.0),
                                          ("b", 2000, 2.0), ("b", 13000, 3.0), ("c", 14000, -1.0)],
                           "a new file", proc)
            want_windows = [(0, "a", 2, 4.0), (0, "b", 1, 2.0), (10000, "a", 1, 4.0),
                            (10000, "b", 1, 3.0), (10000, "c", 1, -1.0)]
            wait_for_query(db, windows, want_windows, "window rows (emit = updates)", proc)
            proc.check_running("the stop")
            ended = proc.stop(timeout=5)
            took = ended.seconds
            if "6 records read" not in ended.log:
                raise AssertionError(f"unexpected summary:\n{ended.log}")
            if query(db, windows) != want_windows:
                raise AssertionError(f"windows after stop: {query(db, windows)}")
    print(f"ok: follow run stopped by SIGTERM in {took:.2f} s with exit 0")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except AssertionError as e:
        print(f"FAIL: {e}")
        sys.exit(1)
