"""Restart after kill -9 (SPEC §6), through the real binary.

A follow-mode pipeline (tumbling windows into a table sink) reads files that a writer keeps
appending to, while the test kills runnel with SIGKILL at random moments and restarts it.
At the end, the table must equal the static run over the same records (exactly once), and
the input log must hold every record exactly once (runnel export).

usage: restart_test.py RUNNEL [KILLS] [SEED]
"""

import csv
import io
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time

RUNNEL = sys.argv[1]
KILLS = int(sys.argv[2]) if len(sys.argv) > 2 else 5
SEED = int(sys.argv[3]) if len(sys.argv) > 3 else 7

PIPELINE = """
[runtime]
state_dir = "{state}"
checkpoint_interval = "50ms"
batch_size = 40

[[source]]
name = "env"
file = "{data}"
format = "csv"
mode = "{mode}"
time = "ts"
max_delay = "5s"
fields = {{ device = "string", ts = "int", v = "int" }}

[[view]]
name = "w"
from = "env"
window = {{ type = "tumbling", size = "10s" }}
group_by = ["device"]
aggregate = ["n = count()", "total = sum(v)", "lo = min(v)", "hi = max(v)"]

[[sink]]
from = "w"
table = "w"
"""


def make_records(rng, count):
    records, t = [], 1_700_000_000_000
    for i in range(count):
        t += rng.randint(0, 400)
        # Disorder within max_delay: never late.
        records.append((f"d{rng.randint(0, 4)}", t - rng.randint(0, 4_000), rng.randint(-50, 50)))
    return records


def write_pipeline(directory, name, data, state, mode):
    path = os.path.join(directory, name)
    with open(path, "w") as f:
        f.write(PIPELINE.format(state=state, data=data, mode=mode))
    return path


def table_rows(db_path):
    with sqlite3.connect(db_path) as db:
        return sorted(db.execute("SELECT * FROM w").fetchall())


def main():
    rng = random.Random(SEED)
    work = tempfile.mkdtemp(prefix="runnel-restart-")
    data = os.path.join(work, "in")
    os.makedirs(data)
    records = make_records(rng, 3000)
    # A last record far ahead closes every window of the data (and opens one of its own).
    flush_time = max(r[1] for r in records) + 3_600_000
    chunks = [records[i:i + 150] for i in range(0, len(records), 150)]
    chunks.append([("d0", flush_time, 0)])

    live = write_pipeline(work, "live.toml", data, os.path.join(work, "state"), "follow")
    log = open(os.path.join(work, "runnel.log"), "w")

    def start():
        return subprocess.Popen([RUNNEL, "run", live, "--no-dashboard"], stdout=log, stderr=log)

    # One file, appended in order: the arrival order is the line order, so no record is late
    # whenever runnel reads it (files read one after the other could make later ones late).
    log_file = os.path.join(data, "env.csv")
    with open(log_file, "w") as f:
        f.write("device,ts,v\n")
    kill_after = sorted(rng.sample(range(2, len(chunks) - 1), KILLS))
    proc = start()
    kills = 0
    for index, chunk in enumerate(chunks):
        with open(log_file, "a") as f:
            f.writelines(f"{d},{t},{v}\n" for d, t, v in chunk)
        time.sleep(rng.uniform(0.01, 0.08))
        if kills < len(kill_after) and index == kill_after[kills]:
            time.sleep(rng.uniform(0.0, 0.1))
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            kills += 1
            proc = start()

    static = write_pipeline(work, "static.toml", data, os.path.join(work, "static-state"), "static")
    subprocess.run([RUNNEL, "run", static], check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    flush_window = flush_time - flush_time % 10_000
    expected = [r for r in table_rows(os.path.join(work, "static-state", "runnel.db"))
                if r[0] != flush_window]

    live_db = os.path.join(work, "state", "runnel.db")
    deadline = time.monotonic() + 30
    actual = []
    while time.monotonic() < deadline:
        try:
            actual = table_rows(live_db)
        except sqlite3.Error:
            actual = []
        if len(actual) >= len(expected):
            break
        time.sleep(0.1)
    proc.send_signal(signal.SIGTERM)
    if proc.wait(timeout=30) != 0:
        sys.exit(f"runnel exited with {proc.returncode} after SIGTERM (log: {log.name})")
    actual = table_rows(live_db)
    if actual != expected:
        missing = [r for r in expected if r not in actual]
        extra = [r for r in actual if r not in expected]
        sys.exit(f"table differs from the static run after {kills} kills (log: {log.name}):\n"
                 f"  missing {missing[:5]} ({len(missing)})\n  extra {extra[:5]} ({len(extra)})")

    exported = subprocess.run(
        [RUNNEL, "export", "--state-dir", os.path.join(work, "state"), "--source", "env"],
        check=True, capture_output=True, text=True).stdout
    logged = sorted((d, int(t), int(v)) for d, t, v in csv.reader(io.StringIO(exported))
                    if d != "device")
    written = sorted([r for chunk in chunks for r in chunk])
    if logged != written:
        sys.exit(f"the input log does not hold each record exactly once: {len(logged)} logged, "
                 f"{len(written)} written")

    # The stored log replays as a batch job with the same results (--replay SOURCE=runnel.db).
    replayed_state = os.path.join(work, "replayed-state")
    replay = write_pipeline(work, "replay.toml", data, replayed_state, "static")
    subprocess.run([RUNNEL, "run", replay, "--replay", f"env={live_db}"], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    replayed = table_rows(os.path.join(replayed_state, "runnel.db"))
    if [r for r in replayed if r[0] != flush_window] != expected:
        sys.exit("replaying the input log (--replay env=runnel.db) gives other results")
    print(f"ok: {kills} kills, {len(expected)} window rows, {len(logged)} records logged once")


if __name__ == "__main__":
    main()
