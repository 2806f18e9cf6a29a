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
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from pipeline_files import window_pipeline, write_file  # noqa: E402
from runnel_outputs import (exported_input_log, query, row_differences, table_rows,  # noqa: E402
                            wait_for_rows)
from runnel_process import RunnelProcess, run_runnel  # noqa: E402

SKIP = 77

T0 = 1_700_000_000_000


def record(i):
    """Record i of the deterministic input: 7 devices, 100 ms apart, in order."""
    return (f"d{i % 7}", T0 + i * 100, (i * 37) % 101 - 50)


def lines(first, count):
    return "".join(f"{d},{t},{v}\n" for d, t, v in map(record, range(first, first + count)))


def write_pipeline(work, name, state, data, mode, size="10s", interval="200ms", batch=4096):
    return write_file(os.path.join(work, name),
                      window_pipeline(state, data, mode, size=size, checkpoint_interval=interval,
                                      batch_size=batch))


def steps_after_checkpoint(db_path):
    """Committed steps that a restart would re-run (the checkpoint deletes the ones it covers)."""
    return query(db_path, "SELECT count(*) FROM runnel_steps")[0][0]


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


def first_replay(runnel, work, count):
    """A replay run over `count` records into a fresh state directory: (data, state, pipeline,
    runnel.db)."""
    data = make_input(work, count)
    state = os.path.join(work, "state")
    pipeline = write_pipeline(work, "p.toml", state, data, "replay")
    run_runnel(runnel, "run", pipeline, check=True)
    return data, state, pipeline, os.path.join(state, "runnel.db")


def case_corrupt(runnel, work):
    _, state, pipeline, db = first_replay(runnel, work, 20_000)
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
    result = run_runnel(runnel, "run", pipeline)
    assert_refused(result, db, "--reset-state")
    assert "malformed" in result.stderr, result.stderr
    result = run_runnel(runnel, "export", "--state-dir", state, "--source", "env")
    assert result.returncode in (1, 2) and db in result.stderr, result.stderr

    # Not SQLite at all.
    with open(db, "wb") as f:
        f.write(b"device,ts,v\n" * 1000)
    if os.path.exists(db + "-shm"):
        os.remove(db + "-shm")
    result = run_runnel(runnel, "run", pipeline)
    assert_refused(result, db, "is not a Runnel state database", "--reset-state")

    # A foreign SQLite database: refused, and left untouched.
    os.remove(db)
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE readings (device TEXT, ts INTEGER)")
    con.execute("INSERT INTO readings VALUES ('x', 1)")
    con.commit()
    con.close()
    before = open(db, "rb").read()
    result = run_runnel(runnel, "run", pipeline)
    assert_refused(result, db, "is not a Runnel state database", "no Runnel format marker")
    assert open(db, "rb").read() == before, "runnel modified a foreign database"

    # --reset-state starts over.
    result = run_runnel(runnel, "run", pipeline, "--reset-state")
    assert result.returncode == 0, result.stderr
    assert len(table_rows(db, "w")) > 100


def case_changed_view(runnel, work):
    data, state, pipeline, db = first_replay(runnel, work, 2_000)
    rows = table_rows(db, "w")

    again = run_runnel(runnel, "run", pipeline)
    assert again.returncode == 0, again.stderr
    assert "the last run read the input whole" in again.stderr, again.stderr
    assert "0 rows written" in again.stderr, again.stderr
    assert table_rows(db, "w") == rows

    changed = write_pipeline(work, "changed.toml", state, data, "replay", size="20s")
    refused = run_runnel(runnel, "run", changed)
    assert refused.returncode == 2, (refused.returncode, refused.stderr)
    for needle in ("view 'w'", "changed since its state was saved", db, "--reset-state"):
        assert needle in refused.stderr, (needle, refused.stderr)
    assert table_rows(db, "w") == rows, "a refused run changed the table"

    reset = run_runnel(runnel, "run", changed, "--reset-state")
    assert reset.returncode == 0, reset.stderr
    assert "restored the checkpoint" not in reset.stderr, reset.stderr
    static = write_pipeline(work, "static.toml", os.path.join(work, "static"), data, "static",
                            size="20s")
    assert run_runnel(runnel, "run", static).returncode == 0
    assert table_rows(db, "w") == table_rows(os.path.join(work, "static", "runnel.db"), "w")
    assert table_rows(db, "w") != rows


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


def finish_and_compare(runnel, work, state, data, total, process):
    """Closes the data's windows with a far-future record, stops `process` and checks the table
    against the static run and the input log against the input (each record once)."""
    flush = T0 + total * 100 + 3_600_000
    with open(data, "a") as f:
        f.write(f"d0,{flush},0\n")
    static = write_pipeline(work, "static.toml", os.path.join(work, "static"), data, "static")
    assert run_runnel(runnel, "run", static).returncode == 0
    flush_window = flush - flush % 10_000
    expected = [r for r in table_rows(os.path.join(work, "static", "runnel.db"), "w")
                if r[0] != flush_window]
    db = os.path.join(state, "runnel.db")
    wait_for_rows(process, db, "w", len(expected))
    process.stop(timeout=10)
    actual = table_rows(db, "w")
    assert actual == expected, f"{len(actual)} rows, {len(expected)} expected:\n" + \
        row_differences(expected, actual, shown=3)
    header, exported = exported_input_log(runnel, state)
    assert header == ["device", "ts", "v"], header
    logged = sorted(tuple(r) for r in exported)
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
    run = RunnelProcess(runnel, ["run", pipeline, "--no-dashboard"],
                        os.path.join(work, "run.log")).start()
    writer.start()
    time.sleep(1.0)
    assert writer.is_alive(), "the writer finished before the SIGTERM: data no longer flows"
    took = run.stop().seconds
    assert took < 5, f"SIGTERM took {took:.1f} s"
    # Nothing to redo after a SIGTERM: the checkpoint covers the last step.
    assert steps_after_checkpoint(os.path.join(state, "runnel.db")) == 0
    run.start()
    writer.join()
    finish_and_compare(runnel, work, state, data, total, run)
    text = run.log()
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
        run = RunnelProcess(runnel, ["run", pipeline, "--no-dashboard"],
                            os.path.join(work, "run.log")).start()
        total = 60_000
        writer = Writer(data, 0, total, 1_000, 0.01)
        writer.start()
        code = run.wait(timeout=30)
        text = run.log()
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
        run = RunnelProcess(runnel, ["run", pipeline, "--no-dashboard"],
                            os.path.join(work, "run2.log")).start()
        finish_and_compare(runnel, work, state, data, total, run)
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
