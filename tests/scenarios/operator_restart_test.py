#!/usr/bin/env python3
"""Restart with open operator state (SPEC §6), one case per operator type, through the binary.

Each case runs a replay pipeline (batch_size = 1, so that lateness is decided per record and
does not depend on timing) twice:
  - uninterrupted, as fast as possible: the reference;
  - paced (`speed`), stopped with SIGTERM once part of the results is in the table, then
    restarted with the same state directory and run to the end of the input.
The SIGTERM run must exit 0 within 5 s and must have stopped in the middle (both runs read
records, together exactly the input); the restart must restore the checkpoint. The table
sinks must then hold exactly the reference's rows, and each file sink's changelog,
consolidated (rows summed by diff), must equal the reference's.

Cases: sliding (final), session (updates), lateness (tumbling, updates, allowed_lateness, a
late view), asof (as-of join of two sources), dedup. CASE_kill9 (e.g. asof_kill9) stops the
first run with SIGKILL instead: the restart then re-runs the steps logged after the last
checkpoint, and only the tables are compared (file sinks are at least once after a crash).

usage: operator_restart_test.py RUNNEL CASE
"""
import os
import random
import re
import sqlite3
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from pipeline_files import write_csv, write_file  # noqa: E402
from runnel_outputs import consolidated, count_rows, row_differences, user_tables  # noqa: E402
from runnel_process import RunnelProcess  # noqa: E402
from waiting import WaitTimeout  # noqa: E402

RUNTIME = """
[runtime]
state_dir = "{state}"
checkpoint_interval = "200ms"
batch_size = 1
"""

ENV_SOURCE = """
[[source]]
name = "env"
file = "env.csv"
mode = "replay"
speed = {speed}
time = "ts"
max_delay = "{max_delay}"
fields = {{ device = "string", seq = "int", ts = "int", v = "int" }}
"""

CASES = {
    "sliding": (ENV_SOURCE, "2s", """
[[view]]
name = "w"
from = "env"
window = { type = "sliding", size = "30s", hop = "10s" }
group_by = ["device"]
aggregate = ["n = count()", "total = sum(v)", "lo = min(v)", "hi = max(v)", "last_v = last(v)"]

[[sink]]
from = "w"
table = "w"

[[sink]]
from = "w"
file = "w.csv"
"""),
    "session": (ENV_SOURCE, "2s", """
[[view]]
name = "s"
from = "env"
window = { type = "session", gap = "1500ms" }
group_by = ["device"]
aggregate = ["n = count()", "total = sum(v)", "first_v = first(v)", "last_v = last(v)"]
emit = "updates"

[[sink]]
from = "s"
table = "s"

[[sink]]
from = "s"
file = "s.csv"
"""),
    "lateness": (ENV_SOURCE, "0s", """
[[view]]
name = "t"
from = "env"
window = { type = "tumbling", size = "10s" }
group_by = ["device"]
aggregate = ["n = count()", "total = sum(v)"]
emit = "updates"
allowed_lateness = "3s"
late = "too_late"

[[sink]]
from = "t"
table = "t"

[[sink]]
from = "t"
file = "t.csv"

[[sink]]
from = "too_late"
table = "too_late"
"""),
    "asof": (ENV_SOURCE + """
[[source]]
name = "cal"
file = "cal.csv"
mode = "replay"
speed = {speed}
time = "ts"
max_delay = "{max_delay}"
fields = {{ device = "string", ts = "int", gain = "int" }}
""", "2s", """
[[view]]
name = "j"
asof_join = { left = "env", right = "cal", by = ["device"], direction = "backward", tolerance = "20s" }
select = ["device", "seq", "ts", "scaled = left.v * right.gain", "cal_ts = right.ts"]

[[sink]]
from = "j"
table = "j"

[[sink]]
from = "j"
file = "j.csv"
"""),
    "dedup": (ENV_SOURCE, "2s", """
[[view]]
name = "u"
from = "env"
dedup = { by = ["device", "seq"], within = "30s" }

[[sink]]
from = "u"
table = "u"

[[sink]]
from = "u"
file = "u.csv"
"""),
}

RECORDS = 1500
SPEED = 100  # event time runs 100x the wall clock: ~1.5 s of pacing for ~150 s of data


def make_env(rng, case):
    rows, t = [], 1_700_000_000_000
    for seq in range(RECORDS):
        # Session gaps now and then; for lateness, a few records far behind.
        t += rng.choice([40, 80, 120, 200, 2_500]) if case == "session" else rng.randint(0, 200)
        ts = t - rng.randint(0, 1_500)
        if case == "lateness" and rng.random() < 0.05:
            ts = t - rng.randint(0, 20_000)
        device = f"d{rng.randint(0, 3)}"
        if case == "dedup" and rows and rng.random() < 0.3:
            device, old_seq, old_ts, _ = rows[rng.randrange(max(0, len(rows) - 20), len(rows))]
            rows.append((device, old_seq, max(old_ts, ts - 1_000), rng.randint(-50, 50)))
            continue
        rows.append((device, seq, ts, rng.randint(-50, 50)))
    return rows


def make_cal(rng):
    rows, t = [], 1_700_000_000_000
    while len(rows) < RECORDS // 5:
        t += rng.randint(0, 1_000)
        rows.append((f"d{rng.randint(0, 3)}", t - rng.randint(0, 1_500), rng.randint(1, 9)))
    return rows


def records_read(summary):
    match = re.search(r"(\d+) records? read", summary)
    assert match, summary
    return int(match.group(1))


def run_case(runnel, case, work, kill9):
    rng = random.Random(sum(map(ord, case)))
    sources, max_delay, views = CASES[case]
    env = make_env(rng, case)
    cal = make_cal(rng) if case == "asof" else []
    sink_files = re.findall(r'file = "(\w+\.csv)"', views)
    first_table = re.search(r'table = "(\w+)"', views).group(1)

    def setup(name, speed):
        directory = os.path.join(work, name)
        write_csv(os.path.join(directory, "env.csv"), ["device", "seq", "ts", "v"], env)
        if cal:
            write_csv(os.path.join(directory, "cal.csv"), ["device", "ts", "gain"], cal)
        write_file(os.path.join(directory, "pipeline.toml"),
                   RUNTIME.format(state="state") +
                   sources.format(speed=speed, max_delay=max_delay) + views)
        return directory

    def start(directory, name):
        return RunnelProcess(runnel, ["run", "pipeline.toml", "--no-dashboard"],
                             os.path.join(directory, f"{name}.log"), cwd=directory).start()

    reference = setup("reference", 0)
    run = start(reference, "run")
    assert run.wait(timeout=50) == 0, run.log()
    expected_tables = user_tables(os.path.join(reference, "state", "runnel.db"))
    expected_files = {name: consolidated(os.path.join(reference, name)) for name in sink_files}
    total = len(expected_tables[first_table])
    assert total > 20, (case, total)

    restarted = setup("restarted", SPEED)
    db = os.path.join(restarted, "state", "runnel.db")
    run = start(restarted, "first")
    try:
        run.wait_for(lambda: count_rows(db, first_table) >= total // 3,
                     f"{total // 3} rows in {first_table}", timeout=30, interval=0.02)
    except WaitTimeout:
        pass  # stopped wherever it is: the checks below say whether that was in the middle
    ended = run.kill9() if kill9 else run.stop(check=False)
    code, took, first = ended.code, ended.seconds, ended.log
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    steps_to_redo = con.execute("SELECT count(*) FROM runnel_steps").fetchone()[0]
    read_first = con.execute("SELECT coalesce(sum(count), 0) FROM runnel_input_log").fetchone()[0]
    con.close()
    if not kill9:
        assert code == 0, f"exit {code} after SIGTERM:\n{first}"
        assert took < 5, f"SIGTERM took {took:.1f} s to stop the run"
        # The stop checkpointed the last step: a restart has nothing to re-run.
        assert steps_to_redo == 0, steps_to_redo
        assert records_read(first) == read_first, (first, read_first)

    run = start(restarted, "second")
    assert run.wait(timeout=50) == 0, run.log()
    second = run.log()
    assert "restored the checkpoint" in second, second
    # A restored file source counts on from its saved position: the first run stopped in the
    # middle, the second ends with the whole input read once.
    read_second = records_read(second)
    assert 0 < read_first < len(env) + len(cal), read_first
    assert read_second == len(env) + len(cal), (read_first, read_second)

    actual_tables = user_tables(db)
    for name, rows in expected_tables.items():
        if actual_tables.get(name) != rows:
            sys.exit(f"{case}: table {name} differs from the uninterrupted run:\n"
                     + row_differences(rows, actual_tables.get(name, [])))
    for name, rows in ({} if kill9 else expected_files).items():
        got = consolidated(os.path.join(restarted, name))
        if got != rows:
            sys.exit(f"{case}: consolidated {name} differs from the uninterrupted run:\n"
                     + row_differences(rows, got))
    print(f"{case}{' kill -9' if kill9 else ''}: ok: stopped after {read_first} of "
          f"{len(env) + len(cal)} records ({took:.2f} s to stop, {steps_to_redo} steps to "
          f"re-run), {total} rows in {first_table}")


def main():
    runnel, case = os.path.abspath(sys.argv[1]), sys.argv[2]
    kill9 = case.endswith("_kill9")
    case = case.removesuffix("_kill9")
    if case not in CASES:
        sys.exit(f"unknown case {case} (cases: {', '.join(CASES)})")
    with tempfile.TemporaryDirectory(prefix=f"runnel-restart-{case}-") as work:
        run_case(runnel, case, work, kill9)


if __name__ == "__main__":
    main()
