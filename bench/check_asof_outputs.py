"""Agreement check of the as-of join benchmark (docs/benchmarks.md, "As-of join").

usage: /usr/bin/python3 bench/check_asof_outputs.py REFERENCE.csv OTHER.csv...

Every file has columns key,ts,temp,gain (Runnel's changelog has a trailing `diff`, which must be
1 on every row: a static as-of join emits each row once, never retracts). Row order differs
between engines, so each output is sorted by (key, ts), which identifies a left row (gen_asof
makes ts unique per key). Then the row count, key, ts and temp must be equal, and gain equal
or null on both sides: exact comparison after parsing, since every engine prints the shortest
text that reads back as the same double. Also prints a sha256 over the sorted, normalized rows,
so runs can be compared across machines. Exit status 1 on any disagreement.
"""
import hashlib
import sys

import numpy as np
import pandas as pd


def load(path: str) -> pd.DataFrame:
    df = pd.read_csv(path, dtype={"key": "category", "ts": "int64", "temp": "float64", "gain": "float64"})
    if "diff" in df.columns:
        if not (df["diff"] == 1).all():
            raise SystemExit(f"{path}: changelog has rows with diff != 1")
        df = df.drop(columns="diff")
    if list(df.columns) != ["key", "ts", "temp", "gain"]:
        raise SystemExit(f"{path}: columns {list(df.columns)}, expected key,ts,temp,gain")
    df["key"] = df["key"].astype(str)
    return df.sort_values(["key", "ts"], kind="stable", ignore_index=True)


def digest(df: pd.DataFrame) -> str:
    h = hashlib.sha256()
    for col in ("ts", "temp", "gain"):
        h.update(np.ascontiguousarray(df[col].to_numpy()).tobytes())
    h.update("\n".join(df["key"]).encode())
    return h.hexdigest()


def main(ref_path: str, others: list) -> int:
    ref = load(ref_path)
    status = 0
    print(f"{ref_path}: {len(ref)} rows, {ref['gain'].isna().sum()} unmatched, sha256 {digest(ref)}")
    for path in others:
        df = load(path)
        problems = []
        if len(df) != len(ref):
            problems.append(f"{len(df)} rows, reference has {len(ref)}")
        else:
            for col in ("key", "ts", "temp"):
                n = int((df[col].to_numpy() != ref[col].to_numpy()).sum())
                if n:
                    problems.append(f"{n} rows differ in {col}")
            a, b = df["gain"].to_numpy(), ref["gain"].to_numpy()
            n = int((~((a == b) | (np.isnan(a) & np.isnan(b)))).sum())
            if n:
                problems.append(f"{n} rows differ in gain")
        if problems:
            status = 1
            print(f"{path}: DISAGREES: {'; '.join(problems)}")
        else:
            print(f"{path}: agrees ({len(df)} rows, sha256 {digest(df)})")
    return status


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit("usage: check_asof_outputs.py REFERENCE.csv OTHER.csv...")
    sys.exit(main(sys.argv[1], sys.argv[2:]))
