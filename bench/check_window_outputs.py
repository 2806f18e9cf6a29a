"""Checks that the batch-aggregation benchmark's outputs agree.

usage: /usr/bin/python3 bench/check_window_outputs.py REFERENCE.csv OTHER.csv [OTHER.csv ...]

Every file has the columns window_start, window_end, device, avg_temp, min_temp, max_temp, n
(in any order; extra columns are ignored). A file with a `diff` column is a Runnel changelog
(SPEC §4): it is consolidated first (+1 inserts a row, -1 retracts an identical row) and every
window must end with exactly one row. Rows are matched on (device, window_start):
window_end and n must be equal, avg/min/max equal to a relative 1e-9 (absolute 1e-12 near
zero, where summation order alone can leave a residue). Exits 1 on any disagreement.
"""
import csv
import sys

import numpy as np
import pandas as pd

KEY = ["device", "window_start"]
COLUMNS = ["window_start", "window_end", "device", "avg_temp", "min_temp", "max_temp", "n"]
FLOATS = ["avg_temp", "min_temp", "max_temp"]
REL_TOL = 1e-9
ABS_TOL = 1e-12
MAX_REPORTED = 10


def fail(msg):
    print(f"BAD {msg}")
    sys.exit(1)


def load(path):
    """Returns a frame with COLUMNS, one row per window, consolidated if it is a changelog."""
    with open(path, newline="") as f:
        header = next(csv.reader(f), None)
    if header is None:
        fail(f"{path}: empty file")
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        fail(f"{path}: missing columns {missing} (header {header})")
    has_diff = "diff" in header
    dtypes = {"device": str, "window_start": "int64", "window_end": "int64", "n": "int64"}
    dtypes.update({c: "float64" for c in FLOATS})
    if has_diff:
        dtypes["diff"] = "int64"
    df = pd.read_csv(path, usecols=COLUMNS + (["diff"] if has_diff else []), dtype=dtypes,
                     keep_default_na=False, na_values=[""])
    if has_diff:
        if not df["diff"].isin([1, -1]).all():
            fail(f"{path}: diff must be 1 or -1")
        retractions = int((df["diff"] == -1).sum())
        df = df.groupby(COLUMNS, dropna=False, sort=False)["diff"].sum().reset_index()
        df = df[df["diff"] != 0]
        if not (df["diff"] == 1).all():
            fail(f"{path}: a row retracted more often than inserted, or inserted twice")
        df = df.drop(columns="diff")
        if retractions:
            print(f"    {path}: consolidated {retractions} retractions")
    dup = df.duplicated(KEY, keep=False)
    if dup.any():
        fail(f"{path}: several live rows for a window, e.g. {df[dup].head(3).to_dict('records')}")
    return df[COLUMNS]


def compare(ref_path, ref, path, other):
    m = ref.merge(other, on=KEY, how="outer", suffixes=("", "_other"), indicator=True)
    missing = m[m["_merge"] == "left_only"]
    extra = m[m["_merge"] == "right_only"]
    both = m[m["_merge"] == "both"]
    ok = (both["window_end"] == both["window_end_other"]) & (both["n"] == both["n_other"])
    notes = []
    for c in FLOATS:
        a = both[c].to_numpy()
        b = both[c + "_other"].to_numpy()
        scale = np.maximum(np.abs(a), np.abs(b))
        diff = np.abs(a - b)
        same_null = np.isnan(a) & np.isnan(b)
        ok &= same_null | (diff <= np.maximum(REL_TOL * scale, ABS_TOL))
        big = scale >= 1e-6
        worst = float(np.nanmax(diff[big] / scale[big])) if big.any() else 0.0
        notes.append(f"{c} {worst:.1e}")
    bad = both[~ok]
    good = missing.empty and extra.empty and bad.empty
    print(f"{'OK ' if good else 'BAD'} {path}: {len(other)} windows; {len(missing)} missing, "
          f"{len(extra)} extra, {len(bad)} differ; max relative difference (|x| >= 1e-6): "
          + ", ".join(notes))
    for name, frame in (("missing", missing), ("not in " + ref_path, extra), ("differs", bad)):
        for rec in frame.head(MAX_REPORTED).drop(columns="_merge").to_dict("records"):
            print(f"    {name}: {rec}")
    return good


def main(argv):
    if len(argv) < 3:
        raise SystemExit(__doc__)
    ref_path = argv[1]
    ref = load(ref_path)
    print(f"reference {ref_path}: {len(ref)} windows, {int(ref['n'].sum())} readings")
    ok = True
    for path in argv[2:]:
        ok = compare(ref_path, ref, path, load(path)) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
