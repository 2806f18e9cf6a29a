#!/usr/bin/env python3
"""Runs one scenario file through the real `runnel` binary and checks what it produced.

A scenario is a text file of sections, each opened by a line `=== KIND [ARG]`:
  === file NAME        the lines that follow are written to NAME in a fresh directory
  === command          one line: the arguments after `runnel` (default: run pipeline.toml);
                       `run` gets `--state-dir state` unless the line sets one
  === exit             one line: the expected exit code (default 0)
  === stdout           exact expected standard output
  === stderr contains  every following line must appear in standard error
  === output NAME      exact expected content of file NAME after the run
  === table NAME       expected rows of table NAME in state/runnel.db, as CSV with a header,
                       compared as sorted rows (null is an empty field)
  === shuffle NAME     property: rerun with the data lines of input NAME in random orders;
                       every output and table must hold the same rows (floats to 1e-12)
Lines starting with `#` before the first section are comments.
"""
import csv
import io
import math
import os
import random
import shutil
import sqlite3
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from runnel_outputs import read_only  # noqa: E402
from runnel_process import run_runnel  # noqa: E402


def parse(path):
    sections = []
    current = None
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.startswith("=== "):
                words = line[4:].rstrip("\n").split(" ", 1)
                current = {"kind": words[0], "arg": words[1] if len(words) > 1 else "", "lines": []}
                sections.append(current)
            elif current is not None:
                current["lines"].append(line)
    return sections


def table_rows(db_path, table):
    with read_only(db_path) as con:
        cur = con.execute(f'SELECT * FROM "{table}"')
        header = [d[0] for d in cur.description]
        rows = [["" if v is None else str(v) for v in row] for row in cur.fetchall()]
    return header, sorted(rows)


def csv_rows(text):
    rows = list(csv.reader(io.StringIO(text)))
    return (rows[0], sorted(rows[1:])) if rows else ([], [])


def same_cell(a, b):
    if a == b:
        return True
    try:
        x, y = float(a), float(b)
    except ValueError:
        return False
    return math.isclose(x, y, rel_tol=1e-12, abs_tol=1e-12)


def same_rows(a, b):
    (ha, ra), (hb, rb) = a, b
    if ha != hb or len(ra) != len(rb):
        return False
    key = lambda r: [c if not _is_num(c) else "" for c in r]
    ra, rb = sorted(ra, key=key), sorted(rb, key=key)
    return all(len(x) == len(y) and all(same_cell(p, q) for p, q in zip(x, y)) for x, y in zip(ra, rb))


def _is_num(c):
    try:
        float(c)
        return "." in c or "e" in c
    except ValueError:
        return False


def run(runnel, workdir, args):
    return run_runnel(runnel, *args, cwd=workdir)


def command_args(sections):
    line = "run pipeline.toml"
    for s in sections:
        if s["kind"] == "command":
            line = "".join(s["lines"]).strip()
    args = line.split()
    if args and args[0] == "run" and "--state-dir" not in args:
        args += ["--state-dir", "state"]
    return args


def main():
    runnel, scenario = os.path.abspath(sys.argv[1]), sys.argv[2]
    sections = parse(scenario)
    failures = []
    with tempfile.TemporaryDirectory(prefix="runnel-scenario-") as workdir:
        for s in sections:
            if s["kind"] == "file":
                path = os.path.join(workdir, s["arg"])
                os.makedirs(os.path.dirname(path), exist_ok=True)
                with open(path, "w", encoding="utf-8") as f:
                    f.write("".join(s["lines"]))
        args = command_args(sections)
        result = run(runnel, workdir, args)
        expected_exit = 0
        for s in sections:
            kind, arg, text = s["kind"], s["arg"], "".join(s["lines"])
            if kind == "exit":
                expected_exit = int(text.strip())
            elif kind == "stdout" and result.stdout != text:
                failures.append(f"stdout differs:\n--- expected\n{text}--- got\n{result.stdout}")
            elif kind == "stderr" and arg == "contains":
                for want in s["lines"]:
                    if want.strip() and want.rstrip("\n") not in result.stderr:
                        failures.append(f"stderr lacks: {want.rstrip()}\n--- stderr\n{result.stderr}")
            elif kind == "output":
                path = os.path.join(workdir, arg)
                got = open(path, encoding="utf-8").read() if os.path.exists(path) else "<missing>"
                if got != text:
                    failures.append(f"{arg} differs:\n--- expected\n{text}--- got\n{got}")
            elif kind == "table":
                db = os.path.join(workdir, "state", "runnel.db")
                try:
                    got = table_rows(db, arg)
                except sqlite3.Error as e:
                    failures.append(f"table {arg}: {e}")
                    continue
                want = csv_rows(text)
                if got != want:
                    failures.append(f"table {arg} differs:\n--- expected\n{want}\n--- got\n{got}")
        if result.returncode != expected_exit:
            failures.insert(0, f"exit code {result.returncode}, expected {expected_exit}\n"
                               f"--- stderr\n{result.stderr}")
        failures += check_shuffles(runnel, workdir, sections, args)
    if failures:
        print(f"FAIL {scenario}\n" + "\n".join(failures))
        return 1
    print(f"ok {scenario}")
    return 0


def snapshot(workdir, sections):
    out = {}
    for s in sections:
        if s["kind"] == "output":
            with open(os.path.join(workdir, s["arg"]), encoding="utf-8") as f:
                out["output " + s["arg"]] = csv_rows(f.read())
        elif s["kind"] == "table":
            out["table " + s["arg"]] = table_rows(os.path.join(workdir, "state", "runnel.db"), s["arg"])
    return out


def check_shuffles(runnel, workdir, sections, args):
    targets = [s["arg"] for s in sections if s["kind"] == "shuffle"]
    if not targets:
        return []
    failures = []
    baseline = snapshot(workdir, sections)
    rng = random.Random(42)
    for attempt in range(5):
        for name in targets:
            path = os.path.join(workdir, name)
            with open(path, encoding="utf-8") as f:
                lines = f.read().splitlines(keepends=True)
            head, body = (lines[:1], lines[1:]) if name.endswith(".csv") else ([], lines)
            rng.shuffle(body)
            with open(path, "w", encoding="utf-8") as f:
                f.writelines(head + body)
        shutil.rmtree(os.path.join(workdir, "state"), ignore_errors=True)
        result = run(runnel, workdir, args)
        if result.returncode != 0:
            failures.append(f"shuffle {attempt}: exit {result.returncode}\n{result.stderr}")
            continue
        for key, want in snapshot(workdir, sections).items():
            if not same_rows(want, baseline[key]):
                failures.append(f"shuffle {attempt}: {key} depends on input order:\n{want}\nvs\n{baseline[key]}")
    return failures


if __name__ == "__main__":
    sys.exit(main())
