"""What a runnel run leaves behind, read by the end-to-end tests: tables of its state database
(runnel.db, opened read-only so that a running runnel is never disturbed), the input log as
`runnel export` writes it, and changelog CSV files of its file sinks.

try_query / count_rows / wait_for_rows are for polling while runnel runs: a database or table
that does not exist yet reads as None / 0. Plain functions; no shared state.
"""
import collections
import contextlib
import csv
import io
import sqlite3

from runnel_process import run_runnel
from waiting import WaitTimeout


@contextlib.contextmanager
def read_only(db, timeout=2):
    """A read-only connection to the SQLite file `db`, closed on exit."""
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=timeout)
    try:
        yield con
    finally:
        con.close()


def query(db, sql, params=()):
    """All rows of `sql` (raises sqlite3.Error)."""
    with read_only(db) as con:
        return con.execute(sql, params).fetchall()


def try_query(db, sql, params=()):
    """query(), or None while the database or the table does not exist yet (or is busy)."""
    try:
        return query(db, sql, params)
    except sqlite3.OperationalError:
        return None


def first_value(db, sql):
    """The first column of the first row of `sql`, or None while it cannot be read yet."""
    rows = try_query(db, sql)
    return rows[0][0] if rows else None


def table_rows(db, table, key=None):
    """All rows of `table`, sorted (by `key` when given: repr sorts rows holding NULLs)."""
    return sorted(query(db, f'SELECT * FROM "{table}"'), key=key)


def user_tables(db):
    """{table: rows sorted by repr} for every table but Runnel's own (runnel_*)."""
    names = [name for (name,) in query(
        db, "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'runnel_%' "
        "AND name NOT LIKE 'sqlite_%' ORDER BY name")]
    return {name: table_rows(db, name, key=repr) for name in names}


def count_rows(db, table, distinct=False):
    """The number of rows (distinct rows) of `table`, 0 while it cannot be read yet."""
    source = f'(SELECT DISTINCT * FROM "{table}")' if distinct else f'"{table}"'
    rows = try_query(db, f"SELECT count(*) FROM {source}")
    return rows[0][0] if rows else 0


def wait_for_rows(process, db, table, at_least, timeout=30):
    """Waits until `table` holds `at_least` rows, or `timeout` s pass (the caller's comparison
    then says what differs); fails if runnel exits meanwhile."""
    try:
        process.wait_for(lambda: count_rows(db, table) >= at_least,
                         f"{at_least} rows in {table}", timeout, interval=0.1)
    except WaitTimeout:
        pass


def row_differences(expected, actual, shown=5):
    """What a failed comparison of two row lists shows: the first `shown` missing and extra
    rows, and how many of each."""
    missing = [r for r in expected if r not in actual]
    extra = [r for r in actual if r not in expected]
    return (f"  missing {missing[:shown]} ({len(missing)})\n"
            f"  extra {extra[:shown]} ({len(extra)})")


def exported_input_log(runnel, state, source="env"):
    """`runnel export` of `source`'s input log: (header, rows) of its CSV."""
    text = run_runnel(runnel, "export", "--state-dir", state, "--source", source,
                      check=True).stdout
    rows = list(csv.reader(io.StringIO(text)))
    return rows[0], rows[1:]


def read_lines(path):
    with open(path) as f:
        return f.read().splitlines()


def consolidated(path):
    """{row without diff: summed diff} of a changelog CSV (last column `diff`), zero sums
    dropped; repeated header lines (a restarted run appends to the file) are skipped."""
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    header = rows[0]
    assert header[-1] == "diff", (path, header)
    sums = collections.Counter()
    for row in rows[1:]:
        if row != header:
            sums[tuple(row[:-1])] += int(row[-1])
    return {row: n for row, n in sums.items() if n != 0}


def retractions(path):
    """How many lines of a changelog CSV retract a row (diff < 0)."""
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    return sum(1 for row in rows[1:] if row != rows[0] and int(row[-1]) < 0)
