#!/usr/bin/env python3
"""Persistence faults (SPEC §6), through the real binary.

Cases (one ctest test each):
  corrupt       runnel.db damaged in the middle (its table pages overwritten), a file that is
                not SQLite at all, and a foreign SQLite database are each refused with exit 1
                or 2 and a message naming the file and what to do; none crashes.
  changed_view  a view whose definition changed since its state was saved is refused (exit 2)
                with a message naming the view and --reset-state; an unchanged pipeline
                restarts; --reset-state runs the new definition from scratch.
  sigterm       while a follow source takes in a steady flow of lines, SIGTERM checkpoints and
                exits 0 within 5 s; a restart continues, and the input log then holds every
                line exactly once and the table equals the static run.
  disk_full     the state directory on a small tmpfs (needs root and mount; otherwise the test
                is skipped with code 77): when the disk fills up, runnel stops with exit 1 and a
                "disk full" message naming runnel.db; the database passes integrity_check; once
                the filesystem is grown, a restart continues and the final table equals the
                static run, with each record logged exactly once.

usage: persistence_faults_test.py RUNNEL CASE
"""
import csv
import io
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time

SKIP = 77

PIPELINE = """
[runtime]
state_dir = "{state}"
checkpoint_interval = "{interval}"
batch_size = {batch}

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
window = {{ type = "tumbling", size = "{size}" }}
group_by = ["device"]
aggregate = ["n = count()", "total = sum(v)", "lo = min(v)", "hi = max(v)"]

[[sink]]
from = "w"
table = "w"
"""

T0 = 1_700_000_000_000


def record(i):
    """Record i of the deterministic input: 7 devices, 100 ms apart, in order."""
    return (f"d{i % 7}", T0 + i * 100, (i * 37) % 101 - 50)


def lines(first, count):
    return "".join(f"{d},{t},{v}\n" for d, t, v in map(record, range(first, first + count)))


def write_pipeline(work, name, state, data, mode, size="10s", interval="200ms", batch=4096):
    path = os.path.join(work, name)
    with open(path, "w") as f:
        f.write(PIPELINE.format(state=state, data=data, mode=mode, size=size, interval=interval,
                                batch=batch))
    return path


def run(runnel, *args, timeout=60):
    return subprocess.run([runnel, *args], capture_output=True, text=True, timeout=timeout)


def table_rows(db_path):
    con = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=2)
    try:
        return sorted(con.execute("SELECT * FROM w").fetchall())
    finally:
        con.close()


def steps_after_checkpoint(db_path):
    """Committed steps that a restart would re-run (the checkpoint deletes the ones it covers)."""
    con = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=2)
    try:
        return con.execute("SELECT count(*) FROM runnel_steps").fetchone()[0]
    finally:
        con.close()


def assert_refused(result, *needles):
    assert result.returncode in (1, 2), (result.returncode, result.stderr)
    for needle in needles:
        assert needle in result.stderr, (needle, result.stderr)
    assert "Traceback" not in result.stderr and "terminate called" not in result.stderr, \
        result.stderr


def make_input(work, count):
    data = os.path.join(work, "env.csv")
    with open(data, "w") as f:
        f.write("device,ts,v\n" + lines(0, count))
    return data


def case_corrupt(runnel, work):
    data = make_input(work, 20_000)
    state = os.path.join(work, "state")
    pipeline = write_pipeline(work, "p.toml", state, data, "replay")
    result = run(runnel, "run", pipeline)
    assert result.returncode == 0, result.stderr
    db = os.path.join(state, "runnel.db")
    assert not os.path.exists(db + "-wal") or os.path.getsize(db + "-wal") == 0

    # Damage the pages of the table sink, of the checkpoint and of the input log: 4 KiB of
    # garbage in the middle of the file, and the first page of each table.
    con = sqlite3.connect(db)
    roots = con.execute("SELECT rootpage FROM sqlite_schema WHERE type = 'table' AND name IN "
                        "('w', 'runnel_node_state', 'runnel_input_log')").fetchall()
    page_size = con.execute("PRAGMA page_size").fetchone()[0]
    con.close()
    intact = open(db, "rb").read()
    damaged = bytearray(intact)
    middle = len(damaged) // 2
    damaged[middle:middle + 4096] = bytes((i * 89 + 13) % 256 for i in range(4096))
    for (root,) in roots:
        start = (root - 1) * page_size
        damaged[start:start + 64] = b"\xa5" * 64
    with open(db, "wb") as f:
        f.write(damaged)
    result = run(runnel, "run", pipeline)
    assert_refused(result, db, "--reset-state")
    assert "malformed" in result.stderr, result.stderr
    result = run(runnel, "export", "--state-dir", state, "--source", "env")
    assert result.returncode in (1, 2) and db in result.stderr, result.stderr

    # Not SQLite at all.
    with open(db, "wb") as f:
        f.write(b"device,ts,v\n" * 1000)
    if os.path.exists(db + "-shm"):
        os.remove(db + "-shm")
    result = run(runnel, "run", pipeline)
    assert_refused(result, db, "is not a Runnel state database", "--reset-state")

    # A foreign SQLite database: refused, and left untouched.
    os.remove(db)
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE readings (device TEXT, ts INTEGER)")
    con.execute("INSERT INTO readings VALUES ('x', 1)")
    con.commit()
    con.close()
    before = open(db, "rb").read()
    result = run(runnel, "run", pipeline)
    assert_refused(result, db, "is not a Runnel state database", "no Runnel format marker")
    assert open(db, "rb").read() == before, "runnel modified a foreign database"

    # --reset-state starts over.
    result = run(runnel, "run", pipeline, "--reset-state")
    assert result.returncode == 0, result.stderr
    assert len(table_rows(db)) > 100


def case_changed_view(runnel, work):
    data = make_input(work, 2_000)
    state = os.path.join(work, "state")
    pipeline = write_pipeline(work, "p.toml", state, data, "replay")
    first = run(runnel, "run", pipeline)
    assert first.returncode == 0, first.stderr
    db = os.path.join(state, "runnel.db")
    rows = table_rows(db)

    again = run(runnel, "run", pipeline)
    assert again.returncode == 0, again.stderr
    assert "the last run read the input whole" in again.stderr, again.stderr
    assert "0 rows written" in again.stderr, again.stderr
    assert table_rows(db) == rows

    changed = write_pipeline(work, "changed.toml", state, data, "replay", size="20s")
    refused = run(runnel, "run", changed)
    assert refused.returncode == 2, (refused.returncode, refused.stderr)
    for needle in ("view 'w'", "changed since its state was saved", db, "--reset-state"):
        assert needle in refused.stderr, (needle, refused.stderr)
    assert table_rows(db) == rows, "a refused run changed the table"

    reset = run(runnel, "run", changed, "--reset-state")
    assert reset.returncode == 0, reset.stderr
    assert "restored the checkpoint" not in reset.stderr, reset.stderr
    static = write_pipeline(work, "static.toml", os.path.join(work, "static"), data, "static",
                            size="20s")
    assert run(runnel, "run", static).returncode == 0
    assert table_rows(db) == table_rows(os.path.join(work, "static", "runnel.db"))
    assert table_rows(db) != rows


class Writer(threading.Thread):
    """Appends `count` records to `path` in chunks, `pause` s apart."""

    def __init__(self, path, first, count, chunk, pause):
        super().__init__(daemon=True)
        self.path, self.first, self.count, self.chunk, self.pause = path, first, count, chunk, pause
        self.written = 0

    def run(self):
        while self.written < self.count:
            n = min(self.chunk, self.count - self.written)
            with open(self.path, "a") as f:
                f.write(lines(self.first + self.written, n))
            self.written += n
            time.sleep(self.pause)


def wait_for_table(db, expected, proc, timeout=30):
    deadline = time.monotonic() + timeout
    rows = []
    while time.monotonic() < deadline:
        try:
            rows = table_rows(db)
        except sqlite3.Error:
            rows = []
        if len(rows) >= len(expected):
            break
        assert proc.poll() is None, f"runnel exited with {proc.returncode}"
        time.sleep(0.1)
    return rows


def finish_and_compare(runnel, work, state, data, total, proc):
    """Closes the data's windows with a far-future record, stops `proc` and checks the table
    against the static run and the input log against the input (each record once)."""
    flush = T0 + total * 100 + 3_600_000
    with open(data, "a") as f:
        f.write(f"d0,{flush},0\n")
    static = write_pipeline(work, "static.toml", os.path.join(work, "static"), data, "static")
    assert run(runnel, "run", static).returncode == 0
    flush_window = flush - flush % 10_000
    expected = [r for r in table_rows(os.path.join(work, "static", "runnel.db"))
                if r[0] != flush_window]
    db = os.path.join(state, "runnel.db")
    wait_for_table(db, expected, proc)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=10) == 0
    actual = table_rows(db)
    assert actual == expected, (len(actual), len(expected),
                                [r for r in expected if r not in actual][:3],
                                [r for r in actual if r not in expected][:3])
    exported = run(runnel, "export", "--state-dir", state, "--source", "env").stdout
    logged = sorted(tuple(r) for r in csv.reader(io.StringIO(exported))
                    if r != ["device", "ts", "v"])
    written = sorted(tuple(r) for r in csv.reader(io.StringIO(lines(0, total) +
                                                              f"d0,{flush},0\n")))
    assert logged == written, (len(logged), len(written))


def case_sigterm(runnel, work):
    data = os.path.join(work, "env.csv")
    with open(data, "w") as f:
        f.write("device,ts,v\n")
    state = os.path.join(work, "state")
    # Rare periodic checkpoints: the one SIGTERM takes must cover everything.
    pipeline = write_pipeline(work, "p.toml", state, data, "follow", interval="1h", batch=500)
    total = 60_000
    writer = Writer(data, 0, total, 500, 0.02)
    log = open(os.path.join(work, "run.log"), "w")
    proc = subprocess.Popen([runnel, "run", pipeline, "--no-dashboard"], stdout=log, stderr=log)
    writer.start()
    time.sleep(1.0)
    assert writer.is_alive(), "the writer finished before the SIGTERM: data no longer flows"
    proc.send_signal(signal.SIGTERM)
    started = time.monotonic()
    code = proc.wait(timeout=30)
    took = time.monotonic() - started
    assert code == 0, code
    assert took < 5, f"SIGTERM took {took:.1f} s"
    # Nothing to redo after a SIGTERM: the checkpoint covers the last step.
    assert steps_after_checkpoint(os.path.join(state, "runnel.db")) == 0
    proc = subprocess.Popen([runnel, "run", pipeline, "--no-dashboard"], stdout=log, stderr=log)
    writer.join()
    finish_and_compare(runnel, work, state, data, total, proc)
    log.close()
    with open(log.name) as f:
        text = f.read()
    assert "re-ran" not in text, text
    print(f"sigterm: stopped in {took:.2f} s")


def case_disk_full(runnel, work):
    mount = os.path.join(work, "small")
    os.makedirs(mount)
    try:
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", mount], check=True,
                       capture_output=True, timeout=10)
    except (OSError, subprocess.SubprocessError) as e:
        print(f"skipped: cannot mount a small tmpfs here ({e})")
        sys.exit(SKIP)
    try:
        data = os.path.join(work, "env.csv")
        with open(data, "w") as f:
            f.write("device,ts,v\n")
        state = os.path.join(mount, "state")
        pipeline = write_pipeline(work, "p.toml", state, data, "follow", interval="100ms",
                                  batch=1000)
        log = open(os.path.join(work, "run.log"), "w")
        proc = subprocess.Popen([runnel, "run", pipeline, "--no-dashboard"], stdout=log,
                                stderr=log)
        total = 60_000
        writer = Writer(data, 0, total, 1_000, 0.01)
        writer.start()
        code = proc.wait(timeout=30)
        log.close()
        with open(log.name) as f:
            text = f.read()
        assert code == 1, (code, text)
        db = os.path.join(state, "runnel.db")
        assert "disk full" in text and db in text, text
        assert "free space" in text, text
        error = next(line for line in text.splitlines() if "disk full" in line)

        subprocess.run(["mount", "-o", "remount,size=256m", mount], check=True, timeout=10)
        con = sqlite3.connect(db)
        assert con.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        con.close()
        writer.join()
        log = open(os.path.join(work, "run2.log"), "w")
        proc = subprocess.Popen([runnel, "run", pipeline, "--no-dashboard"], stdout=log,
                                stderr=log)
        finish_and_compare(runnel, work, state, data, total, proc)
        log.close()
        print(f"disk_full: {error}\nrestarted and caught up ({total} records)")
    finally:
        subprocess.run(["umount", "-l", mount], capture_output=True, timeout=10)


def main():
    runnel, case = sys.argv[1], sys.argv[2]
    cases = {"corrupt": case_corrupt, "changed_view": case_changed_view,
             "sigterm": case_sigterm, "disk_full": case_disk_full}
    if case not in cases:
        sys.exit(f"unknown case {case} (cases: {', '.join(cases)})")
    with tempfile.TemporaryDirectory(prefix=f"runnel-fault-{case}-") as work:
        cases[case](runnel, work)
    print(f"persistence fault {case}: ok")


if __name__ == "__main__":
    main()
