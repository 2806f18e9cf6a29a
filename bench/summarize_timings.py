"""Summarizes scripts/bench_batch.sh's (or scripts/bench_asof.sh's) timings.tsv as a Markdown
table: per program the median wall time, median peak RSS and median CPU time (user + sys) over its runs, and the ratio of
median wall times to Runnel's and to the hand loop's (same run, same file).

usage: /usr/bin/python3 bench/summarize_timings.py TIMINGS.tsv
TIMINGS.tsv columns: name, run, wall_s, max_rss_kb, user_s, sys_s, load1 (no header).
"""
import statistics
import sys

# (name in timings.tsv, label in the table); the order of the table.
PROGRAMS = [
    ("gen_readings", "generator (C++, writes the CSV; not a comparison)"),
    ("gen_asof", "generator (C++, writes both CSVs; not a comparison)"),
    ("handloop", "hand loop (C++, 1 thread)"),
    ("runnel", "Runnel"),
    ("runnel_baseline", "Runnel, baseline binary (RUNNEL_BASELINE_BIN)"),
    ("duckdb_2t", "DuckDB, 2 threads"),
    ("duckdb_1t", "DuckDB, 1 thread"),
    ("pandas", "pandas (1 thread)"),
    ("sqlite3", "sqlite3 CLI (in-memory: .import + GROUP BY)"),
]


def main(path):
    runs = {}
    with open(path) as f:
        for line in f:
            if not line.strip():
                continue
            name, _run, wall, rss, user, sys_s, load = line.split("\t")
            runs.setdefault(name, []).append(
                (float(wall), int(rss) / 1024, float(user) + float(sys_s), float(load)))

    def median_wall(name):
        return statistics.median(r[0] for r in runs[name]) if name in runs else None

    runnel = median_wall("runnel")
    hand = median_wall("handloop")
    print("| program | runs | wall s (median) | peak RSS MB (median) | CPU s (median) "
          "| × Runnel | × hand loop | max load1 |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, label in PROGRAMS:
        if name not in runs:
            if name == "runnel":
                print(f"| {label} | – | pending | pending | pending | 1 | pending | – |")
            continue
        r = runs[name]
        wall = statistics.median(x[0] for x in r)
        rss = statistics.median(x[1] for x in r)
        cpu = statistics.median(x[2] for x in r)
        load = max(x[3] for x in r)
        comparison = not name.startswith("gen_")
        vs_runnel = f"{wall / runnel:.2f}" if comparison and runnel else ("–" if not comparison else "pending")
        vs_hand = f"{wall / hand:.2f}" if comparison and hand else "–"
        print(f"| {label} | {len(r)} | {wall:.2f} | {rss:.0f} | {cpu:.2f} | {vs_runnel} | {vs_hand} "
              f"| {load:.2f} |")
    for name in sorted(set(runs) - {n for n, _ in PROGRAMS}):
        print(f"| {name} (unknown) | {len(runs[name])} | {median_wall(name):.2f} | | | | | |")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
