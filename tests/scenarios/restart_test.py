"""Restart after kill -9 (SPEC §6), through the real binary.

A follow-mode pipeline (tumbling windows into a table sink) reads files that a writer keeps
appending to, while the test kills runnel with SIGKILL at random moments and restarts it.
At the end, the table must equal the static run over the same records (exactly once), and
the input log must hold every record exactly once (runnel export).

usage: restart_test.py RUNNEL [KILLS] [SEED]
"""

import os
import random
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from pipeline_files import window_pipeline, write_file  # noqa: E402
from runnel_outputs import (exported_input_log, row_differences, table_rows,  # noqa: E402
                            wait_for_rows)
from runnel_process import RunnelProcess, run_runnel  # noqa: E402

RUNNEL = sys.argv[1]
KILLS = int(sys.argv[2]) if len(sys.argv) > 2 else 5
SEED = int(sys.argv[3]) if len(sys.argv) > 3 else 7


def make_records(rng, count):
    records, t = [], 1_700_000_000_000
    for i in range(count):
        t += rng.randint(0, 400)
        # Disorder within max_delay: never late.
        records.append((f"d{rng.randint(0, 4)}", t - rng.randint(0, 4_000), rng.randint(-50, 50)))
    return records


def write_pipeline(directory, name, data, state, mode):
    return write_file(os.path.join(directory, name),
                      window_pipeline(state, data, mode, checkpoint_interval="50ms", batch_size=40))


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
    run = RunnelProcess(RUNNEL, ["run", live, "--no-dashboard"], os.path.join(work, "runnel.log"))

    # One file, appended in order: the arrival order is the line order, so no record is late
    # whenever runnel reads it (files read one after the other could make later ones late).
    log_file = os.path.join(data, "env.csv")
    with open(log_file, "w") as f:
        f.write("device,ts,v\n")
    kill_after = sorted(rng.sample(range(2, len(chunks) - 1), KILLS))
    run.start()
    kills = 0
    for index, chunk in enumerate(chunks):
        with open(log_file, "a") as f:
            f.writelines(f"{d},{t},{v}\n" for d, t, v in chunk)
        time.sleep(rng.uniform(0.01, 0.08))
        if kills < len(kill_after) and index == kill_after[kills]:
            time.sleep(rng.uniform(0.0, 0.1))
            run.kill9()
            kills += 1
            run.start()

    static = write_pipeline(work, "static.toml", data, os.path.join(work, "static-state"), "static")
    run_runnel(RUNNEL, "run", static, check=True)
    flush_window = flush_time - flush_time % 10_000
    expected = [r for r in table_rows(os.path.join(work, "static-state", "runnel.db"), "w")
                if r[0] != flush_window]

    live_db = os.path.join(work, "state", "runnel.db")
    wait_for_rows(run, live_db, "w", len(expected))
    run.stop()
    actual = table_rows(live_db, "w")
    if actual != expected:
        sys.exit(f"table differs from the static run after {kills} kills (log: {run.log_path}):\n"
                 + row_differences(expected, actual))

    header, exported = exported_input_log(RUNNEL, os.path.join(work, "state"))
    assert header == ["device", "ts", "v"], header
    logged = sorted((d, int(t), int(v)) for d, t, v in exported)
    written = sorted([r for chunk in chunks for r in chunk])
    if logged != written:
        sys.exit(f"the input log does not hold each record exactly once: {len(logged)} logged, "
                 f"{len(written)} written")

    # The stored log replays as a batch job with the same results (--replay SOURCE=runnel.db).
    replayed_state = os.path.join(work, "replayed-state")
    replay = write_pipeline(work, "replay.toml", data, replayed_state, "static")
    run_runnel(RUNNEL, "run", replay, "--replay", f"env={live_db}", check=True)
    replayed = table_rows(os.path.join(replayed_state, "runnel.db"), "w")
    if [r for r in replayed if r[0] != flush_window] != expected:
        sys.exit("replaying the input log (--replay env=runnel.db) gives other results")
    print(f"ok: {kills} kills, {len(expected)} window rows, {len(logged)} records logged once")


if __name__ == "__main__":
    main()
