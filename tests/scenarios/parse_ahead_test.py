"""Static sources parsed ahead on reader threads ([runtime] reader_threads), through the real
binary:
1. a run with reader_threads = 3 writes the same changelog, counts and reject messages as one
   with reader_threads = 0 (parsing on the engine thread), over two CSV files of 100 000
   rows with bad lines, CRLF, blank lines and a quoted line break late in one of them;
2. with on_error = "fail", a bad line in the middle of a large file stops the run with the
   same message (file and line) in both, and exits non-zero without hanging;
3. SIGTERM in the middle of reading a large file ends the run cleanly (exit 0, in time).

usage: parse_ahead_test.py RUNNEL
"""

import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import time

RUNNEL = sys.argv[1]

PIPELINE = """
[runtime]
reader_threads = {threads}

[[source]]
name = "env"
file = "{data}"
format = "csv"
time = "ts"
null_values = ["NA"]
on_error = "{on_error}"
fields = {{ device = "string", ts = "int", v = "float" }}

[[view]]
name = "hot"
from = "env"
where = "v > 50"

[[sink]]
from = "hot"
file = "{out}"
"""


def write_inputs(work, rng):
    os.makedirs(os.path.join(work, "logs"))
    for name, rows in (("a.csv", 100_000), ("b.csv", 100_000)):
        lines = ["device,ts,v"]
        for i in range(rows):
            roll = rng.random()
            if roll < 0.001:
                lines.append(f"d{i % 7},{i},warm")
            elif roll < 0.002:
                lines.append("")
            elif roll < 0.003:
                lines.append(f"d{i % 7},{i}")
            else:
                lines.append(f"d{i % 7},{i},{rng.choice(['NA', str(rng.randint(0, 99))])}")
        if name == "b.csv":
            lines[80_000] = '"quoted\nline break",80000,77'
        eol = "\r\n" if name == "a.csv" else "\n"
        with open(os.path.join(work, "logs", name), "w", newline="") as f:
            f.write(eol.join(lines) + eol)


def pipeline(work, threads, on_error="skip", data="logs"):
    out = os.path.join(work, f"out_{threads}_{on_error}.csv")
    path = os.path.join(work, f"p_{threads}_{on_error}.toml")
    with open(path, "w") as f:
        f.write(PIPELINE.format(threads=threads, data=os.path.join(work, data),
                                on_error=on_error, out=out))
    return path, out


def seconds(line):
    """The duration in a "done in 1.23 s" summary line, or None."""
    words = line.split()
    for i in range(len(words) - 2):
        if words[i] == "in" and words[i + 2].startswith("s"):
            return words[i + 1]
    return None


def run(work, threads, on_error="skip", data="logs"):
    path, out = pipeline(work, threads, on_error, data)
    result = subprocess.run([RUNNEL, "run", path, "--no-dashboard", "--state-dir",
                             os.path.join(work, f"state_{threads}_{on_error}")],
                            capture_output=True, text=True, timeout=120)
    output = open(out).read() if os.path.exists(out) else None
    # Timings and output paths differ between runs; everything else must not.
    log = [line.replace(out, "OUT").replace(f" in {seconds(line)} s", "")
           for line in result.stderr.splitlines()]
    return result.returncode, log, output


def main():
    with tempfile.TemporaryDirectory(prefix="runnel-parse-ahead-") as work:
        check(work)
    print("parse-ahead: same output, rejects and failure as the engine thread; SIGTERM ends it")


def check(work):
    write_inputs(work, random.Random(5))

    sequential = run(work, 0)
    parallel = run(work, 3)
    if sequential[0] != 0 or not any("records read" in line for line in sequential[1]):
        sys.exit(f"runnel with reader_threads = 0 failed: {sequential[1]}")
    if parallel != sequential:
        sys.exit("reader_threads = 3 gave another result than reader_threads = 0:\n"
                 f"  exit {parallel[0]} vs {sequential[0]}\n  log {parallel[1][:8]}\n"
                 f"  vs  {sequential[1][:8]}\n  output equal: {parallel[2] == sequential[2]}")
    if '"quoted\nline break",80000,77' not in sequential[2]:
        sys.exit("the record with a quoted line break is missing from the output")

    failed_sequential = run(work, 0, "fail")
    failed_parallel = run(work, 3, "fail")
    if failed_sequential[0] == 0 or failed_parallel[0:2] != failed_sequential[0:2]:
        sys.exit("on_error = fail: reader_threads = 3 stopped otherwise than reader_threads = 0:"
                 f"\n  {failed_parallel[0:2]}\n  {failed_sequential[0:2]}")
    if not any("a.csv:" in line for line in failed_parallel[1]):
        sys.exit(f"on_error = fail: no message naming the file and line: {failed_parallel[1]}")

    # A file big enough to be read for a while (6 M rows, about 0.6 s in a release build);
    # SIGTERM as soon as the run started.
    block = "".join(f"d{i % 13},{i},{i % 100}\n" for i in range(1000))
    with open(os.path.join(work, "big.csv"), "w") as f:
        f.write("device,ts,v\n" + block * 6000)
    path, out = pipeline(work, 3, data="big.csv")
    os.remove(out)  # written by the run above
    proc = subprocess.Popen([RUNNEL, "run", path, "--no-dashboard", "--state-dir",
                             os.path.join(work, "state_big")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    # The sink's file exists once the pipeline is built; the signal handler follows at once.
    deadline = time.monotonic() + 30
    while not os.path.exists(out) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.1)
    proc.send_signal(signal.SIGTERM)
    try:
        code = proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        sys.exit("runnel did not end within 60 s of SIGTERM while reading a static file")
    log = proc.stderr.read()
    if code != 0:
        sys.exit(f"runnel exited with {code} after SIGTERM: {log}")
    read = re.search(r"(\d+) records? read", log)
    if read is None or int(read.group(1)) >= 6_000_000:
        sys.exit(f"SIGTERM did not stop the run in the middle of the file: {log}")


if __name__ == "__main__":
    main()
