#!/usr/bin/env python3
"""Persistence benchmark (docs/benchmarks.md, "Persistence"), through the real binary.

1. ingest: the same CSV of N readings through the same pipeline (tumbling 1m windows per
   device into a CSV file sink), interleaved RUNS times: `mode = "replay"` (an unbounded
   source: every record goes to the input log, steps of batch_size records, a checkpoint every
   second) against `mode = "static"` (a bounded source: not logged, one step). Records/s from
   the wall time of `runnel run`, process start to exit.
2. checkpoint: a follow run holding G open windows (one record per group, windows of a day,
   emit = "updates" so that the table shows when all are in); SIGTERM then checkpoints them
   all once (checkpoint_interval = 1h), so the time from SIGTERM to exit is the checkpoint's
   (plus the process exit); the size of the saved state is read from runnel.db. Then kill -9
   after a restart and time the restore of G groups.
3. recovery: a follow run with checkpoint_interval = 1h checkpoints once at its first step;
   then R readings are appended, and once the input log holds them all, runnel is killed
   with SIGKILL. The restart must restore that checkpoint and re-run the R logged records:
   the time from process start to the "restored the checkpoint" line is the recovery time.

usage: persistence_bench.py RUNNEL OUTDIR [--records N] [--recovery-records R]
                            [--groups 1000,10000,100000] [--runs RUNS] [--only PART,...]
"""
import argparse
import os
import re
import signal
import sqlite3
import statistics
import subprocess
import sys
import time

T0 = 1_700_000_000_000

INGEST = """
[runtime]
state_dir = "{state}"
checkpoint_interval = "{interval}"
batch_size = {batch}

[[source]]
name = "env"
file = "{data}"
mode = "{mode}"
time = "ts"
max_delay = "5s"
fields = {{ device = "string", ts = "int", v = "int" }}

[[view]]
name = "w"
from = "env"
window = {{ type = "tumbling", size = "{size}" }}
group_by = ["device"]
aggregate = ["n = count()", "total = sum(v)", "hi = max(v)"]
emit = "{emit}"

[[sink]]
from = "w"
{sink}
"""


def write_data(path, count, devices, start=0, header=True, mode="w"):
    with open(path, mode) as f:
        if header:
            f.write("device,ts,v\n")
        chunk = []
        for i in range(start, start + count):
            chunk.append(f"dev-{i % devices:06d},{T0 + i * 10},{i * 37 % 101 - 50}\n")
            if len(chunk) == 100_000:
                f.write("".join(chunk))
                chunk = []
        f.write("".join(chunk))


def pipeline(out, name, **keys):
    path = os.path.join(out, name)
    keys.setdefault("emit", "final")
    keys.setdefault("interval", "1s")
    keys.setdefault("size", "1m")
    keys.setdefault("batch", 4096)
    keys.setdefault("sink", 'file = "' + os.path.join(out, "w.csv") + '"')
    with open(path, "w") as f:
        f.write(INGEST.format(**keys))
    return path


def rm_state(state):
    subprocess.run(["rm", "-rf", state], check=True)


def wait_for(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    sys.exit(f"timed out after {timeout} s waiting for {what}")


def query(db, sql):
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
        try:
            return con.execute(sql).fetchone()[0]
        finally:
            con.close()
    except sqlite3.Error:
        return None


def bench_ingest(runnel, out, records, runs):
    data = os.path.join(out, "ingest.csv")
    write_data(data, records, 1000)
    state = os.path.join(out, "ingest-state")
    rates = {"replay": [], "static": []}
    for run in range(runs):
        for mode in ("replay", "static"):
            rm_state(state)
            p = pipeline(out, f"ingest_{mode}.toml", state=state, data=data, mode=mode)
            started = time.monotonic()
            result = subprocess.run([runnel, "run", p, "--no-dashboard"], capture_output=True,
                                    text=True)
            wall = time.monotonic() - started
            if result.returncode != 0:
                sys.exit(f"ingest {mode} failed: {result.stderr}")
            rates[mode].append(records / wall)
            logged = query(os.path.join(state, "runnel.db"),
                           "SELECT count(*) FROM runnel_input_log") or 0
            print(f"ingest run {run + 1} {mode}: {wall:.2f} s, {records / wall:,.0f} records/s, "
                  f"{logged:,} logged", flush=True)
    on, off = statistics.median(rates["replay"]), statistics.median(rates["static"])
    return [
        "| source mode | input log | median records/s | runs |",
        "|---|---|---|---|",
        f"| replay | on | {on:,.0f} | {', '.join(f'{r:,.0f}' for r in rates['replay'])} |",
        f"| static | off | {off:,.0f} | {', '.join(f'{r:,.0f}' for r in rates['static'])} |",
        "",
        f"Input log on costs {100 * (1 - on / off):.0f}% of the static rate ({records:,} records).",
    ]


def start(runnel, p, log_path):
    log = open(log_path, "w")
    return subprocess.Popen([runnel, "run", p, "--no-dashboard"], stdout=log, stderr=log), log


def read(path):
    with open(path) as f:
        return f.read()


def bench_checkpoint(runnel, out, groups_list, runs):
    lines = ["| open groups | checkpoint bytes | SIGTERM to exit (median) | restore after kill -9 "
             "(median) |", "|---|---|---|---|"]
    for groups in groups_list:
        stops, restores, size = [], [], 0
        for _ in range(runs):
            data = os.path.join(out, "groups.csv")
            write_data(data, groups, groups)
            state = os.path.join(out, "checkpoint-state")
            rm_state(state)
            db = os.path.join(state, "runnel.db")
            p = pipeline(out, "checkpoint.toml", state=state, data=data, mode="follow",
                         emit="updates", sink='table = "w"', size="1d", interval="1h")
            proc, log = start(runnel, p, os.path.join(out, "checkpoint.log"))
            wait_for(lambda: query(db, "SELECT count(*) FROM w") == groups, 120,
                     f"{groups} groups in the table")
            proc.send_signal(signal.SIGTERM)
            t = time.monotonic()
            assert proc.wait(timeout=120) == 0, read(log.name)
            stops.append(time.monotonic() - t)
            log.close()
            size = query(db, "SELECT sum(length(state)) FROM runnel_node_state")
            # Restore: start again, then time to the restore line.
            with open(data, "a") as f:
                f.write(f"dev-{0:06d},{T0 + groups * 10 + 1},0\n")
            proc, log = start(runnel, p, os.path.join(out, "restore.log"))
            t = time.monotonic()
            wait_for(lambda: "restored the checkpoint" in read(log.name), 120, "the restore")
            restores.append(time.monotonic() - t)
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            log.close()
        print(f"checkpoint {groups} groups: {size:,} bytes, stop {stops}, restore {restores}",
              flush=True)
        lines.append(f"| {groups:,} | {size:,} | {statistics.median(stops):.2f} s | "
                     f"{statistics.median(restores):.2f} s |")
    return lines


def bench_recovery(runnel, out, records, runs, batch):
    times, lines_seen = [], ""
    for run in range(runs):
        data = os.path.join(out, "recovery.csv")
        write_data(data, 0, 1000)
        state = os.path.join(out, "recovery-state")
        rm_state(state)
        db = os.path.join(state, "runnel.db")
        p = pipeline(out, "recovery.toml", state=state, data=data, mode="follow",
                     sink='table = "w"', interval="1h", batch=batch)
        proc, log = start(runnel, p, os.path.join(out, "recovery-first.log"))
        wait_for(lambda: query(db, "SELECT count(*) FROM runnel_node_state") or 0, 30,
                 "the first checkpoint")
        write_data(data, records, 1000, header=False, mode="a")
        wait_for(lambda: (query(db, "SELECT count(*) FROM runnel_input_log") or 0) >= records,
                 300, f"{records} logged records")
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        log.close()
        steps = query(db, "SELECT count(*) FROM runnel_steps")
        proc, log = start(runnel, p, os.path.join(out, "recovery-second.log"))
        t = time.monotonic()
        wait_for(lambda: "restored the checkpoint" in read(log.name), 600, "the restore")
        took = time.monotonic() - t
        times.append(took)
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
        log.close()
        lines_seen = re.search(r"restored the checkpoint[^\n]*", read(log.name)).group(0)
        print(f"recovery run {run + 1}: {took:.2f} s ({steps} logged steps): {lines_seen}",
              flush=True)
    return [f"| {batch:,} | {steps:,} | {statistics.median(times):.2f} s | "
            f"{', '.join(f'{t:.2f}' for t in times)} |"]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("runnel")
    parser.add_argument("out")
    parser.add_argument("--records", type=int, default=2_000_000)
    parser.add_argument("--recovery-records", type=int, default=1_000_000)
    parser.add_argument("--groups", default="1000,10000,100000")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--recovery-batches", default="4096,100",
                        help="batch_size values: records per logged step")
    parser.add_argument("--only", default="ingest,checkpoint,recovery")
    args = parser.parse_args()
    args.out = os.path.abspath(args.out)
    os.makedirs(args.out, exist_ok=True)
    parts = args.only.split(",")
    report = []
    if "ingest" in parts:
        report += ["### Ingest rate, input log on vs off", ""]
        report += bench_ingest(args.runnel, args.out, args.records, args.runs) + [""]
    if "checkpoint" in parts:
        report += ["### Checkpoint time vs state size", ""]
        report += bench_checkpoint(args.runnel, args.out,
                                   [int(g) for g in args.groups.split(",")], args.runs) + [""]
    if "recovery" in parts:
        report += ["### Recovery after kill -9", ""]
        report += [f"{args.recovery_records:,} records logged since the last checkpoint; time "
                   "from process start to the \"restored the checkpoint\" line.", "",
                   "| batch_size | logged steps | median | runs (s) |", "|---|---|---|---|"]
        for batch in args.recovery_batches.split(","):
            report += bench_recovery(args.runnel, args.out, args.recovery_records, args.runs,
                                     int(batch))
    print("\n".join(report))


if __name__ == "__main__":
    main()
