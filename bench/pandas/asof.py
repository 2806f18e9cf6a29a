"""pandas baseline for the as-of join benchmark (docs/benchmarks.md, "As-of join"): every left
reading joined with the latest right record of the same key at or before it, timed end to end:
read_csv of both files, sort by ts (merge_asof requires it), merge_asof(by="key",
direction="backward"), to_csv. Phase timings go to stderr.

usage: /usr/bin/python3 bench/pandas/asof.py LEFT.csv RIGHT.csv OUTPUT.csv
Run with Debian's python3-pandas (/usr/bin/python3), not a pyenv interpreter.

key is read as a categorical with the same categories on both sides (merge_asof needs equal
dtypes for `by`): what a pandas user tuning this job would do. The C parser is used: pyarrow
is not packaged for Debian 12.
"""
import sys
import time

import pandas as pd


def main(left_path: str, right_path: str, dst: str) -> None:
    t0 = time.perf_counter()
    left = pd.read_csv(left_path, dtype={"key": "category", "ts": "int64", "temp": "float64"})
    right = pd.read_csv(right_path, dtype={"key": "category", "ts": "int64", "gain": "float64"})
    keys = left["key"].cat.categories.union(right["key"].cat.categories)
    left["key"] = left["key"].cat.set_categories(keys)
    right["key"] = right["key"].cat.set_categories(keys)
    t1 = time.perf_counter()
    # A stable sort keeps file order among equal times: the order the other engines use too.
    left = left.sort_values("ts", kind="stable", ignore_index=True)
    right = right.sort_values("ts", kind="stable", ignore_index=True)
    t2 = time.perf_counter()
    out = pd.merge_asof(left, right, on="ts", by="key", direction="backward")
    t3 = time.perf_counter()
    out[["key", "ts", "temp", "gain"]].to_csv(dst, index=False)
    t4 = time.perf_counter()
    print(
        f"pandas {pd.__version__}: read_csv {t1 - t0:.2f} s, sort {t2 - t1:.2f} s, "
        f"merge_asof {t3 - t2:.2f} s, to_csv {t4 - t3:.2f} s",
        file=sys.stderr,
    )


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit("usage: asof.py LEFT.csv RIGHT.csv OUTPUT.csv")
    main(*sys.argv[1:])
