#!/usr/bin/env python3
"""The shipped air-quality example gives the same daily aggregates as pandas.

Runs examples/airquality.toml (copied to a temporary directory) through the runnel binary
and recomputes every column of air_daily independently with pandas: parse Date + Time,
-200 as missing, group by UTC day. Counts must match exactly, floats to 1e-9 relative.
"""
import math
import os
import shutil
import sys
import tempfile

import pandas as pd

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from runnel_outputs import read_only  # noqa: E402
from runnel_process import run_runnel  # noqa: E402


def main():
    runnel, source_dir = os.path.abspath(sys.argv[1]), sys.argv[2]
    with tempfile.TemporaryDirectory(prefix="runnel-airquality-") as tmp:
        shutil.copy(os.path.join(source_dir, "examples", "airquality.toml"), tmp)
        shutil.copytree(os.path.join(source_dir, "examples", "data"), os.path.join(tmp, "data"))
        run = run_runnel(runnel, "run", "airquality.toml", cwd=tmp, timeout=300)
        if run.returncode != 0:
            print(run.stderr)
            return 1
        got = pd.read_csv(os.path.join(tmp, "out", "air_daily.csv"))
        with read_only(os.path.join(tmp, "runnel-state", "runnel.db")) as con:
            table = pd.read_sql_query("SELECT * FROM air_daily ORDER BY window_start", con)

    raw = pd.read_csv(os.path.join(source_dir, "examples", "data", "airquality_uci.csv"),
                      na_values=["-200"])
    raw["t"] = pd.to_datetime(raw["Date"] + " " + raw["Time"], format="%d/%m/%Y %H:%M:%S")
    raw["day"] = raw["t"].dt.floor("D")
    g = raw.groupby("day")
    want = pd.DataFrame({
        "window_start": (g.size().index.astype("int64") // 10**6),
        "hours": g.size().values,
        "co_hours": g["CO_GT"].count().values,
        "co_avg": g["CO_GT"].mean().values,
        "co_max": g["CO_GT"].max().values,
        "no2_avg": g["NO2_GT"].mean().values,
        "benzene_median": g["C6H6_GT"].median().values,
        "temp_min": g["T"].min().values,
        "temp_max": g["T"].max().values,
    })
    want["window_end"] = want["window_start"] + 86_400_000

    failures = []
    if list(got["diff"].unique()) != [1]:
        failures.append("a static run must emit only insertions")
    got = got.drop(columns=["diff"]).sort_values("window_start").reset_index(drop=True)
    if len(got) != len(want):
        failures.append(f"{len(got)} days, pandas has {len(want)}")
    for frame_name, frame in (("file", got), ("table", table)):
        for col in want.columns:
            for i, (a, b) in enumerate(zip(frame[col], want[col])):
                if (pd.isna(a) and pd.isna(b)) or (not pd.isna(a) and not pd.isna(b) and
                                                    math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)):
                    continue
                failures.append(f"{frame_name} row {i} column {col}: runnel {a}, pandas {b}")
                break
    if failures:
        print("\n".join(failures[:20]))
        return 1
    print(f"ok: {len(got)} days agree with pandas")
    return 0


if __name__ == "__main__":
    sys.exit(main())
