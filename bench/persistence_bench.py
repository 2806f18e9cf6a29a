#!/usr/bin/env python3
"""Persistence benchmark (docs/benchmarks.md, "Persistence"), through the real binary.

1. ingest: the same CSV of N readings through the same pipeline (tumbling 1m windows per
   device into a CSV file sink), interleaved RUNS times: `mode = "replay"` (an unbounded
   source: every record goes to the input log, steps of batch_size records, a checkpoint every
   second) against `mode = "static"` (a bounded source: not logged, one step). Records/s from
   the wall time of `runnel run`, process start to exit.
2. checkpoint: a follow run checkpoints once at its first step (checkpoint_interval = 1h),
   then takes in G records of G groups (windows of a day, so all stay open; emit = "updates"
   so that the table shows when all are in); SIGTERM then checkpoints them all, so the time
   from SIGTERM to exit is the checkpoint's plus the process exit (G = 0: the exit alone). The
   size of the saved state is read from runnel.db; then a restart is timed from process start
   to its "restored the checkpoint" line (restoring G groups).
3. recovery: a follow run with checkpoint_interval = 1h checkpoints once at its first step;
   then R readings are appended, and once the input log holds them all, runnel is killed
   with SIGKILL. The restart must restore that checkpoint and re-run the R logged records:
   the time from process start to the "restored the checkpoint" line is the recovery time.
   Each restart runs on a fresh copy of the same killed state directory; with --compare-with
   another binary (e.g. one built before a change) restarts on it too, interleaved.

usage: persistence_bench.py RUNNEL OUTDIR [--records N] [--recovery-records R]
                            [--groups 0,1000,10000,100000] [--runs RUNS] [--only PART,...]
                            [--recovery-batches 4096,100] [--compare-with OTHER_RUNNEL]
"""
import argparse
import os
import re
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests",
                                "support"))
from pipeline_files import window_pipeline, write_file  # noqa: E402
from runnel_outputs import first_value  # noqa: E402
from runnel_process import RunnelProcess  # noqa: E402

T0 = 1_700_000_000_000


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


def pipeline(out, name, state, data, mode, emit="final", interval="1s", size="1m",
             batch=4096, sink=None):
    return write_file(os.path.join(out, name), window_pipeline(
        state, data, mode, size=size, checkpoint_interval=interval, batch_size=batch,
        aggregate=("n = count()", "total = sum(v)", "hi = max(v)"), emit=emit,
        sink=sink or f'file = "{os.path.join(out, "w.csv")}"'))


def rm_state(state):
    subprocess.run(["rm", "-rf", state], check=True)


def run_timed(args):
    """Runs `args`; returns (exit code, wall s, CPU s (user + system), stderr)."""
    started = time.monotonic()
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    stderr = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, time.monotonic() - started, usage.ru_utime + usage.ru_stime, stderr


def bench_ingest(runnel, out, records, runs):
    data = os.path.join(out, "ingest.csv")
    write_data(data, records, 1000)
    state = os.path.join(out, "ingest-state")
    walls = {"replay": [], "static": []}
    cpus = {"replay": [], "static": []}
    for run in range(runs):
        for mode in ("replay", "static"):
            rm_state(state)
            p = pipeline(out, f"ingest_{mode}.toml", state=state, data=data, mode=mode)
            code, wall, cpu, stderr = run_timed([runnel, "run", p, "--no-dashboard"])
            if code != 0:
                sys.exit(f"ingest {mode} failed: {stderr}")
            walls[mode].append(wall)
            cpus[mode].append(cpu)
            logged = first_value(os.path.join(state, "runnel.db"),
                           "SELECT coalesce(sum(count), 0) FROM runnel_input_log") or 0
            print(f"ingest run {run + 1} {mode}: {wall:.2f} s wall, {cpu:.2f} s CPU, "
                  f"{records / cpu:,.0f} records per CPU second, {logged:,} logged "
                  f"(load {os.getloadavg()[0]:.1f})", flush=True)

    def rates(mode, times):
        return ", ".join(f"{records / t:,.0f}" for t in times[mode])

    lines = ["| source mode | input log | records/s of wall time (median; runs) | records per CPU "
             "second (median; runs) |", "|---|---|---|---|"]
    for mode, log in (("replay", "on"), ("static", "off")):
        lines.append(f"| {mode} | {log} | {records / statistics.median(walls[mode]):,.0f}; "
                     f"{rates(mode, walls)} | {records / statistics.median(cpus[mode]):,.0f}; "
                     f"{rates(mode, cpus)} |")
    ratio = statistics.median(cpus["replay"]) / statistics.median(cpus["static"])
    lines += ["", f"{records:,} records; the logged replay run takes {ratio:.1f}x the CPU time "
              "of the static run."]
    return lines


def start(runnel, p, log_path):
    return RunnelProcess(runnel, ["run", p, "--no-dashboard"], log_path).start()


def wait_for(predicate, timeout, what, proc):
    """Polls every 20 ms (the resolution of the timings); kills runnel if that fails."""
    try:
        proc.wait_for(predicate, what, timeout, interval=0.02)
    except AssertionError:
        proc.kill9()
        raise


def bench_checkpoint(runnel, out, groups_list, runs):
    lines = ["| open groups | checkpoint bytes | SIGTERM to exit (median) | restart to restored "
             "(median) |", "|---|---|---|---|"]
    for groups in groups_list:
        stops, restores, size = [], [], 0
        for _ in range(runs):
            data = os.path.join(out, "groups.csv")
            write_data(data, 0, 1)
            state = os.path.join(out, "checkpoint-state")
            rm_state(state)
            db = os.path.join(state, "runnel.db")
            p = pipeline(out, "checkpoint.toml", state=state, data=data, mode="follow",
                         emit="updates", sink='table = "w"', size="1d", interval="1h")
            proc = start(runnel, p, os.path.join(out, "checkpoint.log"))
            # The first step checkpoints (empty); the groups come after it, so that only the
            # stop checkpoints them.
            wait_for(lambda: first_value(db, "SELECT count(*) FROM runnel_node_state") or 0, 30,
                     "the first checkpoint", proc)
            write_data(data, groups, groups, header=False, mode="a")
            wait_for(lambda: first_value(db, "SELECT count(*) FROM w") == groups, 120,
                     f"{groups} groups in the table", proc)
            stops.append(proc.stop(timeout=120).seconds)
            size = first_value(db, "SELECT sum(length(state)) FROM runnel_node_state")
            proc = start(runnel, p, os.path.join(out, "restore.log"))
            t = time.monotonic()
            wait_for(lambda: "restored the checkpoint" in proc.log(), 120, "the restore", proc)
            restores.append(time.monotonic() - t)
            proc.kill9()
        print(f"checkpoint {groups} groups: {size:,} bytes, stop {stops}, restore {restores}",
              flush=True)
        lines.append(f"| {groups:,} | {size:,} | {statistics.median(stops):.3f} s | "
                     f"{statistics.median(restores):.3f} s |")
    return lines


def bench_recovery(runnels, out, records, runs, batch):
    """Builds one state directory killed with `records` logged after its checkpoint, then
    restarts each binary of `runnels` ({label: path}) on a fresh copy of it, interleaved."""
    first = next(iter(runnels.values()))
    data = os.path.join(out, "recovery.csv")
    write_data(data, 0, 1000)
    state = os.path.join(out, "recovery-state")
    pristine = state + ".killed"
    rm_state(state)
    rm_state(pristine)
    db = os.path.join(state, "runnel.db")
    p = pipeline(out, "recovery.toml", state=state, data=data, mode="follow",
                 sink='table = "w"', interval="1h", batch=batch)
    proc = start(first, p, os.path.join(out, "recovery-first.log"))
    wait_for(lambda: first_value(db, "SELECT count(*) FROM runnel_node_state") or 0, 30,
             "the first checkpoint", proc)
    write_data(data, records, 1000, header=False, mode="a")
    wait_for(lambda: (first_value(db, "SELECT coalesce(sum(count), 0) FROM runnel_input_log")
                      or 0) >= records,
             600, f"{records} logged records", proc)
    proc.kill9()
    steps = first_value(db, "SELECT count(*) FROM runnel_steps")
    subprocess.run(["cp", "-a", state, pristine], check=True)
    times = {label: [] for label in runnels}
    for run in range(runs):
        for label, runnel in runnels.items():
            rm_state(state)
            subprocess.run(["cp", "-a", pristine, state], check=True)
            proc = start(runnel, p, os.path.join(out, "recovery-second.log"))
            t = time.monotonic()
            wait_for(lambda: "restored the checkpoint" in proc.log(), 600, "the restore", proc)
            took = time.monotonic() - t
            times[label].append(took)
            proc.kill9()
            said = re.search(r"restored the checkpoint[^\n]*", proc.log()).group(0)
            print(f"recovery {label} run {run + 1}: {took:.2f} s ({steps} logged steps, load "
                  f"{os.getloadavg()[0]:.1f}): {said}", flush=True)
    return [f"| {label} | {batch:,} | {steps:,} | {statistics.median(t):.2f} s | "
            f"{', '.join(f'{x:.2f}' for x in t)} |" for label, t in times.items()]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("runnel")
    parser.add_argument("out")
    parser.add_argument("--records", type=int, default=2_000_000)
    parser.add_argument("--recovery-records", type=int, default=1_000_000)
    parser.add_argument("--groups", default="0,1000,10000,100000")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--recovery-batches", default="4096,100",
                        help="batch_size values: records per logged step")
    parser.add_argument("--compare-with", default="",
                        help="another runnel binary whose recovery is timed on the same state")
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
                   "| binary | batch_size | logged steps | median | runs (s) |",
                   "|---|---|---|---|---|"]
        runnels = {"this": args.runnel}
        if args.compare_with:
            runnels["compared"] = args.compare_with
        for batch in args.recovery_batches.split(","):
            report += bench_recovery(runnels, args.out, args.recovery_records, args.runs,
                                     int(batch))
    print("\n".join(report))


if __name__ == "__main__":
    main()
