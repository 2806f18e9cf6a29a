#!/usr/bin/python3
"""Reference results for Runnel's as-of join view, computed with pandas.merge_asof.

Runnel's asof_join is specified as "exactly pandas.merge_asof" (SPEC §3), so pandas is the
oracle. Run it with Debian's /usr/bin/python3 (which has pandas), not a pyenv python.

  asof_reference.py --left L.csv --right R.csv --left-on ts --right-on ts --by device
                    [--direction backward|forward|nearest] [--tolerance-ms N] [--no-exact]
                    [--drop-unmatched] [--actual CHANGELOG.csv]

Without --actual, prints the expected rows as CSV (Runnel's default as-of output layout: left
columns, then right columns except the right `by` columns, a right column whose name is taken
renamed right_<name>), sorted. With --actual, consolidates a Runnel changelog (its columns plus
`diff`) and exits 1 with a listing of the differences when it does not equal the expectation.
Values are compared after normalisation (numbers by value, empty = null).

  asof_reference.py --self-check

checks pandas against a brute-force as-of join written from the rules Runnel documents (ties,
strictness, inclusive tolerance, nearest, null keys) on hand-picked and random cases.

Arrival order: Runnel breaks ties between right records at the same time by arrival; in a static
run that is file order, which a stable sort by time keeps, so the right file is stable-sorted.
"""

import argparse
import collections
import csv
import io
import math
import random
import sys

import pandas as pd

DIRECTIONS = ("backward", "forward", "nearest")


# --- The oracle ---------------------------------------------------------------------------


def pandas_asof(left, right, left_on, right_on, left_by, right_by, direction, tolerance,
                allow_exact):
    """Left and right DataFrames in arrival (file) order; returns merge_asof's result rows."""
    left = left.sort_values(left_on, kind="mergesort")
    right = right.sort_values(right_on, kind="mergesort")
    return pd.merge_asof(left, right, left_on=left_on, right_on=right_on, left_by=left_by,
                         right_by=right_by, direction=direction, tolerance=tolerance,
                         allow_exact_matches=allow_exact)


def brute_force_match(lt, lkey, rights, direction, tolerance, allow_exact):
    """Index of the right record matched by a left record at time lt with key lkey.

    rights: list of (key, time) in arrival order. Rules: null keys (None) match each other,
    as pandas factorizes them into one group; backward takes the latest time <= lt (< when
    strict), the last to arrive among equal times; forward the earliest >= lt (> when strict),
    the first to arrive; nearest compares the backward and the forward candidate (each as above)
    and prefers backward on a tie; tolerance bounds the distance, inclusive.
    """
    def within(d):
        return tolerance is None or d <= tolerance

    back = fwd = None
    for i, (key, rt) in enumerate(rights):
        if key != lkey:
            continue
        if (rt <= lt if allow_exact else rt < lt) and within(lt - rt):
            if back is None or rt >= rights[back][1]:  # later arrival wins a tie
                back = i
        if (rt >= lt if allow_exact else rt > lt) and within(rt - lt):
            if fwd is None or rt < rights[fwd][1]:  # earlier arrival wins a tie
                fwd = i
    if direction == "backward":
        return back
    if direction == "forward":
        return fwd
    if back is not None and fwd is not None:
        return back if lt - rights[back][1] <= rights[fwd][1] - lt else fwd
    return back if back is not None else fwd


def check_case(lefts, rights, direction, tolerance, allow_exact):
    """lefts/rights: lists of (key, time); keys are strings or None. Returns a list of errors."""
    left = pd.DataFrame({"k": pd.Series([k for k, _ in lefts], dtype=object),
                         "t": pd.Series([t for _, t in lefts], dtype="int64"),
                         "lid": range(len(lefts))})
    right = pd.DataFrame({"k": pd.Series([k for k, _ in rights], dtype=object),
                          "t": pd.Series([t for _, t in rights], dtype="int64"),
                          "rid": range(len(rights))})
    result = pandas_asof(left, right, "t", "t", "k", "k", direction, tolerance, allow_exact)
    errors = []
    for lid, rid in zip(result["lid"], result["rid"]):
        got = None if isinstance(rid, float) and math.isnan(rid) else int(rid)
        want = brute_force_match(lefts[lid][1], lefts[lid][0], rights, direction, tolerance,
                                 allow_exact)
        if got != want:
            errors.append(f"{direction} exact={allow_exact} tol={tolerance}: left {lefts[lid]} "
                          f"pandas matched {got} {rights[got] if got is not None else ''}, "
                          f"brute force {want}")
    return errors


def self_check():
    cases = []
    # Several right records at one time, strict and exact, ties for nearest, the tolerance at
    # its limit, null keys on both sides.
    rights = [("a", 1), ("a", 3), ("a", 3), ("a", 3), ("a", 7), (None, 2), ("b", 10),
              ("b", 10)]
    lefts = [("a", t) for t in range(0, 10)] + [(None, 1), (None, 2), (None, 5), ("b", 6),
                                                 ("b", 10), ("b", 14), ("c", 3)]
    cases.append((lefts, rights))
    rng = random.Random(7)
    for _ in range(60):
        keys = ["a", "b", None]
        rights = [(rng.choice(keys), rng.randrange(0, 30)) for _ in range(rng.randrange(0, 25))]
        lefts = [(rng.choice(keys), rng.randrange(0, 30)) for _ in range(rng.randrange(1, 25))]
        cases.append((lefts, rights))
    errors = []
    runs = 0
    for lefts, rights in cases:
        for direction in DIRECTIONS:
            for allow_exact in (True, False):
                for tolerance in (None, 0, 2, 5):
                    errors += check_case(lefts, rights, direction, tolerance, allow_exact)
                    runs += 1
    # Null keys: pandas groups them (unlike SQL); Runnel's null_keys_match = true relies on it.
    null_result = pandas_asof(
        pd.DataFrame({"k": pd.Series([None], dtype=object), "t": [5]}),
        pd.DataFrame({"k": pd.Series([None], dtype=object), "t": [1], "rid": [0]}),
        "t", "t", "k", "k", "backward", None, True)
    if null_result["rid"].isna().any():
        errors.append("pandas no longer matches a null key with a null key")
    for e in errors[:20]:
        print(e)
    if errors:
        print(f"self-check FAILED: {len(errors)} mismatches in {runs} runs")
        return 1
    print(f"self-check: pandas {pd.__version__} agrees with the brute force in {runs} runs "
          f"({len(cases)} data sets x 3 directions x strict/exact x 4 tolerances)")
    return 0


# --- Comparing with Runnel ------------------------------------------------------------------


def normalise(cell):
    """Canonical text of a CSV cell: '' for null, numbers by value ('2.0' == '2')."""
    if cell is None or (isinstance(cell, float) and math.isnan(cell)):
        return ""
    text = str(cell)
    if text == "":
        return ""
    try:
        return str(int(text))
    except ValueError:
        pass
    try:
        value = float(text)
    except ValueError:
        return text
    if math.isfinite(value) and value.is_integer() and abs(value) < 2**53:
        return str(int(value))
    return repr(value)


def read_csv(path):
    # Everything as text so that values survive untouched; only empty cells are null.
    return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])


def expected_rows(args):
    left = read_csv(args.left)
    right = read_csv(args.right)
    left_by = args.by.split(",")
    right_by = (args.right_by or args.by).split(",")
    for frame, on in ((left, args.left_on), (right, args.right_on)):
        if frame[on].isna().any():
            sys.exit(f"asof_reference: null event time in column {on}")
        frame[on] = frame[on].astype("int64")
    for frame, by in ((left, left_by), (right, right_by)):
        for column in by:
            frame[column] = frame[column].astype(object)

    # Runnel's default layout: left columns, then right columns except `by`, renamed on clash.
    taken = set(left.columns)
    renamed = {}
    for column in right.columns:
        if column in right_by:
            continue
        name = "right_" + column if column in taken else column
        taken.add(name)
        renamed[column] = name
    out_columns = list(left.columns) + list(renamed.values())
    join_on = "__runnel_on"
    left = left.assign(**{join_on: left[args.left_on]})
    right_part = right[list(renamed)].rename(columns=renamed)
    right_part[join_on] = right[args.right_on]
    key_names = [f"__runnel_by{i}" for i in range(len(left_by))]
    for name, lcol, rcol in zip(key_names, left_by, right_by):
        left[name] = left[lcol]
        right_part[name] = right[rcol]
    # A probe column tells a match with null right fields from no match at all.
    probe = "__runnel_matched"
    right_part[probe] = True
    result = pandas_asof(left, right_part, join_on, join_on, key_names, key_names,
                         args.direction, args.tolerance_ms, not args.no_exact)
    if args.drop_unmatched:
        result = result[result[probe].notna()]
    rows = [tuple(normalise(v) for v in row) for row in result[out_columns].itertuples(index=False)]
    return out_columns, rows


def consolidate_changelog(path, columns):
    counts = collections.Counter()
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        missing = [c for c in columns + ["diff"] if c not in (reader.fieldnames or [])]
        if missing:
            sys.exit(f"asof_reference: {path} lacks columns {missing}")
        for record in reader:
            counts[tuple(normalise(record[c]) for c in columns)] += int(record["diff"])
    return counts


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--self-check", action="store_true")
    parser.add_argument("--left")
    parser.add_argument("--right")
    parser.add_argument("--left-on", default="ts")
    parser.add_argument("--right-on", default="ts")
    parser.add_argument("--by", help="left by columns, comma separated")
    parser.add_argument("--right-by", help="right by columns (default: same names as --by)")
    parser.add_argument("--direction", choices=DIRECTIONS, default="backward")
    parser.add_argument("--tolerance-ms", type=int)
    parser.add_argument("--no-exact", action="store_true", help="allow_exact = false")
    parser.add_argument("--drop-unmatched", action="store_true", help="keep_unmatched = false")
    parser.add_argument("--actual", help="a Runnel changelog CSV to compare")
    args = parser.parse_args()
    if args.self_check:
        return self_check()
    if not (args.left and args.right and args.by):
        parser.error("--left, --right and --by are required (or --self-check)")

    columns, rows = expected_rows(args)
    if not args.actual:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows(sorted(rows))
        sys.stdout.write(out.getvalue())
        return 0
    expected = collections.Counter(rows)
    actual = consolidate_changelog(args.actual, columns)
    problems = []
    for row in sorted(set(expected) | set(actual)):
        if expected[row] != actual[row]:
            problems.append(f"{row}: expected x{expected[row]}, got x{actual[row]}")
    for p in problems[:50]:
        print(p)
    if problems:
        print(f"asof_reference: {len(problems)} rows differ")
        return 1
    print(f"asof_reference: {sum(expected.values())} rows match")
    return 0


if __name__ == "__main__":
    sys.exit(main())
