#!/usr/bin/env python3
"""Runnel's static results on random data equal independent implementations.

Windows (tumbling, sliding, session) with every aggregate are checked against
reference/windows_reference.py (plain Python); as-of joins in every direction, with and
without exact matches, tolerance and unmatched rows, against pandas.merge_asof
(reference/asof_reference.py). Each case runs the real binary on a generated pipeline.
Usage: randomized_reference_test.py RUNNEL [windows|asof] [SEEDS]
"""
import os
import random
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "support"))
from pipeline_files import write_file  # noqa: E402
from runnel_process import run_runnel  # noqa: E402

PY = "/usr/bin/python3"

AGGREGATES = ["n = count()", "nn = count(value)", "s = sum(value)", "av = avg(value)",
              "mn = min(value)", "mx = max(value)", "f = first(value)", "l = last(value)",
              "v = var(value)", "sd = stddev(value)", "md = median(value)", "si = sum(ival)",
              "mni = min(ival)", "li = last(ival)", "ms = max(tag)"]
WINDOWS = {"tumbling:1m": '{ type = "tumbling", size = "1m" }',
           "sliding:1m:20s": '{ type = "sliding", size = "1m", hop = "20s" }',
           "session:30s": '{ type = "session", gap = "30s" }'}


def run_and_compare(runnel, tmp, pipeline, reference):
    """Runs `pipeline` in `tmp`, then the reference script (`reference`: its arguments) on the
    output: the failures, none when both agree."""
    write_file(os.path.join(tmp, "pipeline.toml"), pipeline)
    result = run_runnel(runnel, "run", "pipeline.toml", "--state-dir", "state", "--reset-state",
                        cwd=tmp, timeout=300)
    if result.returncode != 0:
        return [f"runnel failed: {result.stderr}"]
    check = subprocess.run([PY, *reference], cwd=tmp, capture_output=True, text=True, timeout=300)
    return [] if check.returncode == 0 else [check.stdout + check.stderr]


def window_case(runnel, tmp, seed, window, grouped):
    rng = random.Random(seed)
    lines = ["device,ts,value,ival,tag"]
    for _ in range(rng.randint(0, 400)):
        value = "" if rng.random() < 0.1 else f"{rng.uniform(-50, 50):.2f}"
        ival = "" if rng.random() < 0.1 else str(rng.randint(-1000, 1000))
        # Coarse times make event-time ties common (first/last break them by line order).
        lines.append(f"d{rng.randint(0, 4)},{rng.randint(-60, 600) * 1000},{value},{ival},"
                     f"{rng.choice(['a', 'b', 'zz', ''])}")
    write_file(os.path.join(tmp, "input.csv"), "\n".join(lines) + "\n")
    group = 'group_by = ["device"]' if grouped else ""
    pipeline = f"""
[[source]]
name = "r"
file = "input.csv"
time = "ts"
fields = {{ device = "string", ts = "int", value = "float", ival = "int", tag = "string" }}

[[view]]
name = "w"
from = "r"
window = {WINDOWS[window]}
{group}
aggregate = [{", ".join('"' + a + '"' for a in AGGREGATES)}]

[[sink]]
from = "w"
file = "out.csv"
"""
    cmd = [os.path.join(HERE, "reference", "windows_reference.py"), "input.csv",
           "--window", window, "--time", "ts",
           "--types", "device=string,ts=int,value=float,ival=int,tag=string",
           "--compare", "out.csv"]
    if grouped:
        cmd += ["--group-by", "device"]
    for a in AGGREGATES:
        cmd += ["--aggregate", a]
    return run_and_compare(runnel, tmp, pipeline, cmd)


def asof_case(runnel, tmp, seed, direction, allow_exact, tolerance, keep):
    rng = random.Random(seed)
    left = ["key,t,lv"]
    for i in range(rng.randint(0, 120)):
        key = "" if rng.random() < 0.05 else f"k{rng.randint(0, 3)}"
        left.append(f"{key},{rng.randint(0, 60) * 1000},{i}")
    right = ["key,t,rv"]
    for i in range(rng.randint(0, 60)):
        right.append(f"k{rng.randint(0, 3)},{rng.randint(0, 60) * 1000},{i * 10}")
    for name, rows in (("left.csv", left), ("right.csv", right)):
        write_file(os.path.join(tmp, name), "\n".join(rows) + "\n")
    tol = f', tolerance = "{tolerance}s"' if tolerance is not None else ""
    pipeline = f"""
[[source]]
name = "l"
file = "left.csv"
time = "t"
fields = {{ key = "string", t = "int", lv = "int" }}

[[source]]
name = "r"
file = "right.csv"
time = "t"
fields = {{ key = "string", t = "int", rv = "int" }}

[[view]]
name = "j"
asof_join = {{ left = "l", right = "r", by = ["key"], direction = "{direction}"{tol}, allow_exact = {str(allow_exact).lower()}, keep_unmatched = {str(keep).lower()} }}

[[sink]]
from = "j"
file = "out.csv"
"""
    cmd = [os.path.join(HERE, "reference", "asof_reference.py"), "--left", "left.csv",
           "--right", "right.csv", "--left-on", "t", "--right-on", "t", "--by", "key",
           "--direction", direction, "--actual", "out.csv"]
    if tolerance is not None:
        cmd += ["--tolerance-ms", str(tolerance * 1000)]
    if not allow_exact:
        cmd.append("--no-exact")
    if not keep:
        cmd.append("--drop-unmatched")
    return run_and_compare(runnel, tmp, pipeline, cmd)


def main():
    runnel = os.path.abspath(sys.argv[1])
    which = sys.argv[2]
    seeds = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    failures, cases = [], 0
    with tempfile.TemporaryDirectory(prefix="runnel-random-") as tmp:
        for seed in range(seeds):
            if which == "windows":
                for window in WINDOWS:
                    for grouped in (True, False):
                        cases += 1
                        for f in window_case(runnel, tmp, seed, window, grouped):
                            failures.append(f"seed {seed} {window} grouped={grouped}: {f}")
            else:
                for direction in ("backward", "forward", "nearest"):
                    for allow_exact in (True, False):
                        for tolerance in (None, 5):
                            for keep in (True, False):
                                cases += 1
                                for f in asof_case(runnel, tmp, seed, direction, allow_exact,
                                                   tolerance, keep):
                                    failures.append(f"seed {seed} {direction} exact={allow_exact} "
                                                    f"tol={tolerance} keep={keep}: {f}")
    if failures:
        print("\n".join(failures[:10]))
        print(f"{len(failures)} of {cases} cases differ")
        return 1
    print(f"ok: {cases} cases agree")
    return 0


if __name__ == "__main__":
    sys.exit(main())
