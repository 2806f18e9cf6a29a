#!/usr/bin/python3
"""Reference implementation of Runnel's window views (SPEC §2 Aggregates, §3, §4).

An independent, deliberately simple computation of what a window view outputs for a static
input: tumbling, sliding and session windows, grouped, with every aggregate. It shares no code
or algorithm with operators/window_*.cc: windows are recomputed from the whole input, sums are
exact (math.fsum, Python ints, fractions), sessions are found by sorting.

Use it as a module:

    rows = [{"device": "a", "ts": 1000, "value": 2.5}, ...]      # in arrival (file) order
    out = compute(rows, Window("tumbling", size=60_000), ["device"],
                  [Aggregate("avg_v", "avg", "value"), Aggregate("n", "count", None)])

or from the command line (columns device,ts,value[,...]; empty field = null):

    windows_reference.py --window tumbling:1m --group-by device \\
        --aggregate "avg_v = avg(value)" --aggregate "n = count()" input.csv > expected.csv
    windows_reference.py ... input.csv --compare runnel_changelog.csv   # exit 1 on mismatch
    windows_reference.py --self-test

Output rows are (window_start, window_end, *group values, *aggregates) sorted by
(window_end, window_start, group key) in Runnel's value order (null < bool < number < string);
the CSV adds Runnel's changelog column `diff` (always 1: a static run emits no retraction).

Comparison with Runnel's output (--compare / compare()): Runnel's changelog is consolidated
(rows summed by diff), then matched to the reference row by (window_start, window_end, group).
Integers, strings, bools and nulls must be equal; floats must agree within a relative tolerance
of 1e-9 (absolute 1e-12 near zero). Runnel uses compensated (Neumaier) sums that almost always
equal the correctly rounded math.fsum, but var/stddev and int averages go through different, if
careful, floating-point steps, and a streaming run adds values in another order than a static
one: bit-for-bit equality is not a property either side promises.
"""

from __future__ import annotations

import argparse
import csv
import decimal
import io
import math
import random
import re
import sys
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Iterable, Optional, Sequence

FUNCTIONS = ("count", "sum", "avg", "min", "max", "first", "last", "var", "stddev", "median")
REL_TOL = 1e-9
ABS_TOL = 1e-12
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


@dataclass(frozen=True)
class Window:
    type: str  # "tumbling" | "sliding" | "session"
    size: int = 0  # ms
    hop: int = 0  # ms
    gap: int = 0  # ms


@dataclass(frozen=True)
class Aggregate:
    name: str
    function: str
    argument: Optional[str]  # None for count()


# --------------------------------------------------------------------------------------------
# Parsing of the command-line notations.

_UNITS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}


def parse_duration(text: str) -> int:
    """'250ms', '5s', '1m', '2h', '1d' (SPEC §2), or a bare number of milliseconds."""
    m = re.fullmatch(r"(\d+)(ms|s|m|h|d)?", text.strip())
    if not m:
        raise ValueError(f"invalid duration {text!r}: write e.g. 250ms, 5s, 1m, 2h, 1d")
    return int(m.group(1)) * _UNITS[m.group(2) or "ms"]


def parse_window(text: str) -> Window:
    """'tumbling:SIZE', 'sliding:SIZE:HOP' or 'session:GAP'."""
    parts = text.split(":")
    kind = parts[0]
    if kind == "tumbling" and len(parts) == 2:
        return Window("tumbling", size=parse_duration(parts[1]))
    if kind == "sliding" and len(parts) == 3:
        return Window("sliding", size=parse_duration(parts[1]), hop=parse_duration(parts[2]))
    if kind == "session" and len(parts) == 2:
        return Window("session", gap=parse_duration(parts[1]))
    raise ValueError(f"invalid window {text!r}: use tumbling:SIZE, sliding:SIZE:HOP or session:GAP")


def parse_aggregate(text: str) -> Aggregate:
    """'name = fn(field)' or 'name = fn()' (only bare fields as arguments)."""
    m = re.fullmatch(r"\s*([a-z_][a-z0-9_]*)\s*=\s*([a-z_]+)\s*\(\s*([a-z_][a-z0-9_]*)?\s*\)\s*", text)
    if not m:
        raise ValueError(f"invalid aggregate {text!r}: write name = fn(field) or name = count()")
    name, fn, arg = m.groups()
    if fn not in FUNCTIONS:
        raise ValueError(f"unknown aggregate function {fn!r}: use one of {', '.join(FUNCTIONS)}")
    if arg is None and fn != "count":
        raise ValueError(f"{fn}() needs an argument")
    return Aggregate(name, fn, arg)


# --------------------------------------------------------------------------------------------
# Values: Runnel's total order and its text form.

_RANK = {type(None): 0, bool: 1, int: 2, float: 2, str: 3}


def value_key(v: Any) -> tuple:
    """Runnel's order: null < bool < numbers (int and float by value) < strings (bytewise)."""
    rank = _RANK[type(v)]
    if rank == 0:
        return (0, 0)
    if rank == 3:
        return (3, v.encode("utf-8"))
    return (rank, v)


def format_float(x: float) -> str:
    """The text std::to_chars gives a double: the shortest digits that read back exactly, in
    fixed or scientific notation, whichever is shorter (fixed on a tie); fixed notation of an
    integer prints its exact digits ('9223372036854775808', not '...776000')."""
    if x == 0:
        return "-0" if math.copysign(1.0, x) < 0 else "0"
    sign = "-" if x < 0 else ""
    dec = decimal.Decimal(repr(abs(x)))  # repr: the shortest round-trip digits
    sign_bit, digit_tuple, exponent = dec.as_tuple()
    digits = "".join(map(str, digit_tuple)).lstrip("0")
    # value = digits * 10**exponent; e10 is the exponent of the first digit.
    e10 = len(digits) + exponent - 1
    digits = digits.rstrip("0") or "0"
    mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
    scientific = f"{mantissa}e{'+' if e10 >= 0 else '-'}{abs(e10):02d}"
    if e10 >= len(digits) - 1:
        fixed = str(int(abs(x)))
    elif e10 >= 0:
        fixed = digits[: e10 + 1] + "." + digits[e10 + 1 :]
    else:
        fixed = "0." + "0" * (-e10 - 1) + digits
    return sign + (fixed if len(fixed) <= len(scientific) else scientific)


def csv_field(v: Any) -> str:
    """As Runnel's CSV sink writes a value: null empty, strings quoted only when needed."""
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return format_float(v) if math.isfinite(v) else ""
    if v == "" or v[0] == " " or v[-1] == " " or any(c in v for c in ',"\r\n'):
        return '"' + v.replace('"', '""') + '"'
    return v


# --------------------------------------------------------------------------------------------
# The computation.


@dataclass
class _Record:
    time: int
    arrival: int
    row: dict


def _infer_type(values: Iterable[Any]) -> str:
    kinds = {type(v) for v in values if v is not None}
    if not kinds:
        return "null"
    if kinds == {bool}:
        return "bool"
    if kinds == {int}:
        return "int"
    if kinds <= {int, float}:
        return "float"
    if kinds == {str}:
        return "string"
    raise ValueError(f"a column mixes types {sorted(k.__name__ for k in kinds)}")


def _windows_of(window: Window, t: int) -> list[tuple[int, int]]:
    if window.type == "tumbling":
        k = t // window.size
        return [(k * window.size, (k + 1) * window.size)]
    if window.type == "sliding":
        first = (t - window.size) // window.hop + 1
        last = t // window.hop
        return [(k * window.hop, k * window.hop + window.size) for k in range(first, last + 1)]
    raise AssertionError(window.type)


def _sessions(records: list[_Record], gap: int) -> list[list[_Record]]:
    """Records of one group, split where consecutive times are gap or more apart."""
    ordered = sorted(records, key=lambda r: (r.time, r.arrival))
    sessions: list[list[_Record]] = []
    for r in ordered:
        if sessions and r.time - sessions[-1][-1].time < gap:
            sessions[-1].append(r)
        else:
            sessions.append([r])
    return sessions


def _aggregate(agg: Aggregate, arg_type: str, records: list[_Record]) -> Any:
    fn = agg.function
    if fn == "count" and agg.argument is None:
        return len(records)
    values = [(r.time, r.arrival, r.row.get(agg.argument)) for r in records]
    values = [v for v in values if v[2] is not None]
    if fn == "count":
        return len(values)
    if not values:
        return None
    xs = [v[2] for v in values]
    if fn in ("sum", "avg", "var", "stddev", "median") and arg_type not in ("int", "float"):
        raise ValueError(f"{fn}() needs a numeric argument, {agg.argument} is {arg_type}")
    if fn == "sum":
        if arg_type == "int":
            s = sum(xs)
            return s if INT64_MIN <= s <= INT64_MAX else None  # Runnel: null on int64 overflow
        return math.fsum(xs)
    if fn == "avg":
        if arg_type == "int":
            return float(Fraction(sum(xs), len(xs)))
        return math.fsum(xs) / len(xs)
    if fn == "min":
        return min(xs, key=value_key)
    if fn == "max":
        return max(xs, key=value_key)
    if fn == "first":
        return min(values, key=lambda v: (v[0], v[1]))[2]
    if fn == "last":
        return max(values, key=lambda v: (v[0], v[1]))[2]
    if fn in ("var", "stddev"):
        n = len(xs)
        if n < 2:
            return None
        s1 = sum(Fraction(x) for x in xs)
        s2 = sum(Fraction(x) ** 2 for x in xs)
        var = float((n * s2 - s1 * s1) / (n * (n - 1)))
        return var if fn == "var" else math.sqrt(var)
    if fn == "median":
        ordered = sorted(xs)
        n = len(ordered)
        if n % 2:
            return float(ordered[n // 2])
        return (ordered[n // 2 - 1] + ordered[n // 2]) / 2
    raise AssertionError(fn)


def result_type(agg: Aggregate, arg_type: str) -> str:
    if agg.function == "count":
        return "int"
    if agg.function in ("avg", "var", "stddev", "median"):
        return "float"
    return arg_type


def compute(
    rows: Sequence[dict],
    window: Window,
    group_by: Sequence[str],
    aggregates: Sequence[Aggregate],
    time: str = "ts",
    types: Optional[dict] = None,
) -> list[tuple]:
    """The rows a window view outputs for `rows` (dicts in arrival order, None = null).

    `types` maps column names to "int" | "float" | "string" | "bool"; columns not in it are
    inferred from the values (an int column with one float is a float column)."""
    types = dict(types or {})
    records = []
    for arrival, row in enumerate(rows):
        t = row.get(time)
        if not isinstance(t, int) or isinstance(t, bool):
            raise ValueError(f"row {arrival}: event time {time}={t!r} is not an integer")
        records.append(_Record(t, arrival, row))
    arg_types = {}
    for agg in aggregates:
        if agg.argument is not None:
            arg_types[agg.argument] = types.get(agg.argument) or _infer_type(
                r.get(agg.argument) for r in rows
            )

    def key_of(r: _Record) -> tuple:
        return tuple(r.row.get(g) for g in group_by)

    groups: dict[tuple, list[_Record]] = {}
    for r in records:
        groups.setdefault(key_of(r), []).append(r)

    windows: list[tuple[int, int, tuple, list[_Record]]] = []
    for key, members in groups.items():
        if window.type == "session":
            for s in _sessions(members, window.gap):
                windows.append((s[0].time, s[-1].time, key, s))
        else:
            by_window: dict[tuple[int, int], list[_Record]] = {}
            for r in members:
                for bounds in _windows_of(window, r.time):
                    by_window.setdefault(bounds, []).append(r)
            for (start, end), rs in by_window.items():
                windows.append((start, end, key, rs))

    out = []
    for start, end, key, rs in windows:
        rs = sorted(rs, key=lambda r: r.arrival)
        values = [_aggregate(a, arg_types.get(a.argument, "null"), rs) for a in aggregates]
        out.append((start, end, *key, *values))
    width = len(group_by)
    out.sort(key=lambda row: (row[1], row[0], tuple(value_key(v) for v in row[2 : 2 + width])))
    return out


def output_header(group_by: Sequence[str], aggregates: Sequence[Aggregate]) -> list[str]:
    return ["window_start", "window_end", *group_by, *(a.name for a in aggregates)]


def to_csv(header: Sequence[str], rows: Iterable[tuple]) -> str:
    lines = [",".join(header) + ",diff"]
    lines += [",".join(csv_field(v) for v in row) + ",1" for row in rows]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------------
# Reading CSV input and Runnel's changelog.


def parse_field(text: str, kind: str) -> Any:
    if text == "":
        return None
    if kind == "int":
        return int(text)
    if kind == "float":
        return float(text)
    if kind == "bool":
        if text.lower() not in ("true", "false", "1", "0"):
            raise ValueError(f"not a bool: {text!r}")
        return text.lower() in ("true", "1")
    return text


def _guess_kind(texts: Iterable[str]) -> str:
    texts = [t for t in texts if t != ""]
    if not texts:
        return "string"
    if all(re.fullmatch(r"[+-]?\d+", t) for t in texts):
        return "int"
    try:
        for t in texts:
            float(t)
        return "float"
    except ValueError:
        pass
    if all(t.lower() in ("true", "false") for t in texts):
        return "bool"
    return "string"


def read_csv(text: str, types: Optional[dict] = None) -> tuple[list[dict], dict]:
    """Rows of a CSV with a header; empty fields are null. Returns (rows, column types)."""
    reader = csv.reader(io.StringIO(text))
    header = next(reader)
    raw = list(reader)
    kinds = {}
    for i, name in enumerate(header):
        kinds[name] = (types or {}).get(name) or _guess_kind(r[i] for r in raw if i < len(r))
    rows = [{name: parse_field(r[i], kinds[name]) for i, name in enumerate(header)} for r in raw]
    return rows, kinds


def consolidate(header: Sequence[str], kinds: Sequence[str], changelog: str) -> dict:
    """Runnel's changelog (columns + diff) summed by diff: {row tuple: net count != 0}."""
    reader = csv.reader(io.StringIO(changelog))
    got_header = next(reader)
    if got_header != [*header, "diff"]:
        raise ValueError(f"changelog columns {got_header} differ from {[*header, 'diff']}")
    net: dict[tuple, int] = {}
    for fields in reader:
        row = tuple(parse_field(f, k) for f, k in zip(fields[:-1], kinds))
        net[row] = net.get(row, 0) + int(fields[-1])
        if net[row] == 0:
            del net[row]
    return net


def _close(a: Any, b: Any) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        if a is None or b is None:
            return a is b
        return math.isclose(a, b, rel_tol=REL_TOL, abs_tol=ABS_TOL)
    return a == b and type(a) is type(b)


def compare(expected: Sequence[tuple], consolidated: dict, key_width: int) -> list[str]:
    """Differences between the reference rows and a consolidated changelog; [] when equal."""
    problems = []
    actual = {}
    for row, count in consolidated.items():
        if count != 1:
            problems.append(f"row {row} has net count {count}, expected 1")
        key = row[: 2 + key_width]
        if key in actual:
            problems.append(f"window {key} appears more than once: {actual[key]} and {row}")
        actual[key] = row
    for row in expected:
        key = row[: 2 + key_width]
        got = actual.pop(key, None)
        if got is None:
            problems.append(f"missing row {row}")
        elif not all(_close(a, b) for a, b in zip(row, got)):
            problems.append(f"row {key}: expected {row[2 + key_width:]}, got {got[2 + key_width:]}")
    for key, row in actual.items():
        problems.append(f"unexpected row {row}")
    return problems


def column_kinds(group_by, aggregates, input_kinds) -> list[str]:
    return ["int", "int", *(input_kinds[g] for g in group_by)] + [
        result_type(a, input_kinds.get(a.argument, "null")) for a in aggregates
    ]


# --------------------------------------------------------------------------------------------
# Self-test.


def _self_test() -> None:
    def rows_of(*triples, extra=None):
        return [{"device": d, "ts": t, "value": v, **(extra or {})} for d, t, v in triples]

    count_avg_max = [
        Aggregate("n", "count", None),
        Aggregate("avg", "avg", "value"),
        Aggregate("max", "max", "value"),
    ]
    # The same cases as tests/operators/window_operator_test.cc.
    out = compute(
        rows_of(("b", 30_000, 10.0), ("a", 1_000, 1.0), ("a", 59_999, 3.0), ("a", 60_000, 5.0),
                ("a", -1, 7.0)),
        Window("tumbling", size=60_000), ["device"], count_avg_max)
    assert out == [
        (-60_000, 0, "a", 1, 7.0, 7.0),
        (0, 60_000, "a", 2, 2.0, 3.0),
        (0, 60_000, "b", 1, 10.0, 10.0),
        (60_000, 120_000, "a", 1, 5.0, 5.0),
    ], out
    out = compute(rows_of(("a", 7_000, 2.0), ("a", 12_000, 4.0)),
                  Window("sliding", size=10_000, hop=5_000), ["device"], count_avg_max)
    assert out == [(0, 10_000, "a", 1, 2.0, 2.0), (5_000, 15_000, "a", 2, 3.0, 4.0),
                   (10_000, 20_000, "a", 1, 4.0, 4.0)], out
    out = compute(rows_of(("a", 3_000, 1.0), ("a", 5_500, 2.0), ("a", -4_000, 3.0)),
                  Window("sliding", size=2_000, hop=5_000), ["device"], count_avg_max)
    assert out == [(-5_000, -3_000, "a", 1, 3.0, 3.0), (5_000, 7_000, "a", 1, 2.0, 2.0)], out
    out = compute(rows_of(("a", 100, 1.0), ("a", 105, 3.0), ("b", 100, 5.0), ("a", 115, 9.0)),
                  Window("session", gap=10), ["device"], count_avg_max)
    assert out == [(100, 100, "b", 1, 5.0, 5.0), (100, 105, "a", 2, 2.0, 3.0),
                   (115, 115, "a", 1, 9.0, 9.0)], out

    # Every aggregate, with nulls and a tie in time (first/last go by arrival).
    every = [Aggregate("n", "count", None)] + [
        Aggregate(fn, fn, "value") for fn in FUNCTIONS if fn != "count"
    ] + [Aggregate("nn", "count", "value")]
    out = compute(rows_of(("a", 30, 4.0), ("a", 5, None), ("a", 10, 1.0), ("a", 20, 2.5),
                          ("a", 10, 8.0)),
                  Window("tumbling", size=100), ["device"], every)
    assert out == [(0, 100, "a", 5, 15.5, 3.875, 1.0, 8.0, 1.0, 4.0, 9.0625, 3.010398644698074,
                    3.25, 4)], out
    out = compute([{"ts": 1, "v": 7}, {"ts": 2, "v": -3}, {"ts": 3, "v": None}, {"ts": 3, "v": 2}],
                  Window("tumbling", size=10), [],
                  [Aggregate(fn, fn, "v") for fn in FUNCTIONS])
    assert out == [(0, 10, 3, 6, 2.0, -3, 7, 7, 2, 25.0, 5.0, 2.0)], out
    out = compute([{"ts": 1, "v": None}], Window("tumbling", size=10), [],
                  [Aggregate("n", "count", None)] + [Aggregate(fn, fn, "v") for fn in FUNCTIONS],
                  types={"v": "float"})
    assert out == [(0, 10, 1, 0) + (None,) * 9], out
    # Group keys sort in Runnel's order: null < bool < number < string.
    out = compute([{"ts": 1, "k": "x"}, {"ts": 1, "k": None}, {"ts": 1, "k": "A"}],
                  Window("tumbling", size=10), ["k"], [Aggregate("n", "count", None)])
    assert [r[2] for r in out] == [None, "A", "x"], out

    # Floats print as std::to_chars prints them (pairs taken from a C++ run).
    for value, text in [(0.0, "0"), (-0.0, "-0"), (2.0, "2"), (-2.5, "-2.5"), (0.1, "0.1"),
                        (0.30000000000000004, "0.30000000000000004"), (1e16, "1e+16"),
                        (1e15, "1e+15"), (1.2345678901234568e17, "123456789012345680"),
                        (1e21, "1e+21"), (1e-4, "1e-04"), (1e-5, "1e-05"), (0.001, "0.001"),
                        (0.00012, "0.00012"), (1.5e-7, "1.5e-07"), (1e300, "1e+300"),
                        (5e-324, "5e-324"), (1.7976931348623157e308, "1.7976931348623157e+308"),
                        (9223372036854775808.0, "9223372036854775808"), (100.0, "100"),
                        (1234.5, "1234.5"), (1e5, "1e+05"), (12345678.9, "12345678.9"),
                        (0.0025, "0.0025"), (1 / 3, "0.3333333333333333"),
                        (2 / 3 * 1e-10, "6.666666666666667e-11"), (1.23e22, "1.23e+22"),
                        (2.2250738585072014e-308, "2.2250738585072014e-308")]:
        assert format_float(value) == text, (value, format_float(value), text)
    assert csv_field("") == '""' and csv_field(None) == "" and csv_field('a,"b"') == '"a,""b"""'

    # Sessions against a second definition: connected components of |dt| < gap.
    rng = random.Random(5)
    for _ in range(200):
        gap = rng.randint(1, 6)
        times = [rng.randint(0, 40) for _ in range(rng.randint(1, 15))]
        rows = [{"ts": t, "value": 1} for t in times]
        got = sorted((r[0], r[1], r[2]) for r in
                     compute(rows, Window("session", gap=gap), [], [Aggregate("n", "count", None)]))
        parent = list(range(len(times)))

        def find(i):
            while parent[i] != i:
                i = parent[i]
            return i

        for i in range(len(times)):
            for j in range(len(times)):
                # Consecutive times less than gap apart chain together: two records are in one
                # session iff every step between them (over the sorted times) is < gap.
                lo, hi = sorted((times[i], times[j]))
                between = sorted(t for t in times if lo <= t <= hi)
                if all(b - a < gap for a, b in zip(between, between[1:])):
                    parent[find(i)] = find(j)
        comps: dict[int, list[int]] = {}
        for i, t in enumerate(times):
            comps.setdefault(find(i), []).append(t)
        want = sorted((min(ts), max(ts), len(ts)) for ts in comps.values())
        assert got == want, (gap, times, got, want)

    # Sliding windows against membership by definition.
    for _ in range(200):
        size, hop = rng.randint(1, 12), rng.randint(1, 12)
        t = rng.randint(-30, 30)
        got = _windows_of(Window("sliding", size=size, hop=hop), t)
        want = [(k * hop, k * hop + size) for k in range(-100, 100) if k * hop <= t < k * hop + size]
        assert got == want, (size, hop, t, got, want)

    # Changelog comparison: consolidation, tolerance, and what a mismatch looks like.
    aggs = [Aggregate("n", "count", None), Aggregate("avg", "avg", "value")]
    expected = compute(rows_of(("a", 1, 0.1), ("a", 2, 0.2), ("b", 3, None)),
                       Window("tumbling", size=10), ["device"], aggs)
    header = output_header(["device"], aggs)
    kinds = column_kinds(["device"], aggs, {"device": "string", "value": "float"})
    changelog = ("window_start,window_end,device,n,avg,diff\n"
                 "0,10,a,1,0.1,1\n0,10,a,1,0.1,-1\n0,10,a,2,0.15000000000000002,1\n0,10,b,1,,1\n")
    assert compare(expected, consolidate(header, kinds, changelog), 1) == []
    assert compare(expected, consolidate(header, kinds, to_csv(header, expected)), 1) == []
    off = changelog.replace("0.15000000000000002", "0.1500001")
    assert len(compare(expected, consolidate(header, kinds, off), 1)) == 1
    near = changelog.replace("0.15000000000000002", "0.15000000000001")
    assert compare(expected, consolidate(header, kinds, near), 1) == []
    missing = changelog.replace("0,10,b,1,,1\n", "")
    assert compare(expected, consolidate(header, kinds, missing), 1) == [
        "missing row (0, 10, 'b', 1, None)"]
    rows, found = read_csv("device,ts,value,ok\na,1,2.5,true\nb,2,,false\n")
    assert found == {"device": "string", "ts": "int", "value": "float", "ok": "bool"}, found
    assert rows[1] == {"device": "b", "ts": 2, "value": None, "ok": False}, rows
    print("windows_reference self-test: ok")


# --------------------------------------------------------------------------------------------
# Command line.


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("input", nargs="?", help="CSV with a header (device,ts,value,...)")
    parser.add_argument("--window", help="tumbling:SIZE | sliding:SIZE:HOP | session:GAP")
    parser.add_argument("--group-by", default="", help="comma-separated columns")
    parser.add_argument("--aggregate", action="append", default=[], help='"name = fn(field)"')
    parser.add_argument("--time", default="ts", help="event-time column (integer ms)")
    parser.add_argument("--types", default="", help="column types, e.g. value=float,device=string")
    parser.add_argument("--compare", metavar="CHANGELOG", help="Runnel's CSV output to check")
    parser.add_argument("-o", "--output", help="write the expected CSV here (default stdout)")
    parser.add_argument("--self-test", action="store_true")
    args = parser.parse_args(argv)
    if args.self_test:
        _self_test()
        return 0
    if not args.input or not args.window or not args.aggregate:
        parser.error("give INPUT, --window and at least one --aggregate (or --self-test)")
    window = parse_window(args.window)
    group_by = [g for g in args.group_by.split(",") if g]
    aggregates = [parse_aggregate(a) for a in args.aggregate]
    types = dict(kv.split("=", 1) for kv in args.types.split(",") if kv)
    types.setdefault(args.time, "int")
    with open(args.input, newline="") as f:
        rows, kinds = read_csv(f.read(), types)
    expected = compute(rows, window, group_by, aggregates, args.time, kinds)
    header = output_header(group_by, aggregates)
    if args.output or not args.compare:
        text = to_csv(header, expected)
        if args.output:
            with open(args.output, "w", newline="") as f:
                f.write(text)
        else:
            sys.stdout.write(text)
    if args.compare:
        with open(args.compare, newline="") as f:
            changelog = f.read()
        net = consolidate(header, column_kinds(group_by, aggregates, kinds), changelog)
        problems = compare(expected, net, len(group_by))
        for p in problems[:50]:
            print(p, file=sys.stderr)
        if problems:
            print(f"{len(problems)} difference(s) against {len(expected)} expected rows",
                  file=sys.stderr)
            return 1
        print(f"ok: {len(expected)} rows match", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
