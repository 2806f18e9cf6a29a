"""pandas baseline for the batch-aggregation benchmark: 1-minute tumbling windows per device
(avg/min/max/count of temp), timed end to end: read_csv, groupby, to_csv. Phase timings go to
stderr.

usage: /usr/bin/python3 bench/pandas/window.py INPUT.csv OUTPUT.csv
Run with Debian's python3-pandas (/usr/bin/python3), not a pyenv interpreter.

The device column is read as a categorical: what a pandas user tuning this job would do
(the groupby is about twice as fast as on object strings). The C parser is used: pyarrow is
not packaged for Debian 12.
"""
import sys
import time

import pandas as pd

WINDOW_MS = 60_000


def main(src: str, dst: str) -> None:
    t0 = time.perf_counter()
    df = pd.read_csv(src, dtype={"device": "category", "ts": "int64", "temp": "float64"})
    t1 = time.perf_counter()
    df["window_start"] = (df["ts"] // WINDOW_MS) * WINDOW_MS
    out = (
        df.groupby(["device", "window_start"], sort=True, observed=True)["temp"]
        .agg(avg_temp="mean", min_temp="min", max_temp="max", n="count")
        .reset_index()
    )
    out["window_end"] = out["window_start"] + WINDOW_MS
    out = out[["window_start", "window_end", "device", "avg_temp", "min_temp", "max_temp", "n"]]
    t2 = time.perf_counter()
    out.to_csv(dst, index=False)
    t3 = time.perf_counter()
    print(
        f"pandas {pd.__version__}: {len(df)} rows, {len(out)} windows; "
        f"read_csv {t1 - t0:.3f} s, groupby {t2 - t1:.3f} s, to_csv {t3 - t2:.3f} s",
        file=sys.stderr,
    )


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
