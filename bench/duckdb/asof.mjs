// DuckDB baseline for the as-of join benchmark (docs/benchmarks.md, "As-of join"): every left
// reading joined with the latest right record of the same key at or before it (ASOF LEFT JOIN,
// so unmatched left rows are kept, as in pandas and Runnel), timed end to end: read_csv of both
// files, the join, COPY TO CSV, in an in-memory database.
//
// usage: node bench/duckdb/asof.mjs LEFT.csv RIGHT.csv OUTPUT.csv THREADS
// (after `npm ci` in bench/duckdb)

import { DuckDBInstance, version } from '@duckdb/node-api';

const [left, right, dst, threads] = process.argv.slice(2);
if (!left || !right || !dst || !/^[1-9][0-9]*$/.test(threads ?? '')) {
  console.error('usage: node asof.mjs LEFT.csv RIGHT.csv OUTPUT.csv THREADS');
  process.exit(2);
}
const literal = (s) => `'${s.replaceAll("'", "''")}'`;

const t0 = performance.now();
const instance = await DuckDBInstance.create(':memory:', { threads });
const connection = await instance.connect();
// No ORDER BY: the other programs do not sort their output either (pandas writes left rows in
// ts order, Runnel in its own order); the agreement check sorts.
await connection.run(`
  COPY (
    SELECT l.key, l.ts, l.temp, r.gain
    FROM read_csv(${literal(left)}, header = true, delim = ',',
                  columns = {'key': 'VARCHAR', 'ts': 'BIGINT', 'temp': 'DOUBLE'}) AS l
    ASOF LEFT JOIN
         read_csv(${literal(right)}, header = true, delim = ',',
                  columns = {'key': 'VARCHAR', 'ts': 'BIGINT', 'gain': 'DOUBLE'}) AS r
      ON l.key = r.key AND l.ts >= r.ts
  ) TO ${literal(dst)} (FORMAT csv, HEADER true)`);
const t1 = performance.now();
connection.closeSync();
console.error(`duckdb ${version()} threads=${threads}: ${((t1 - t0) / 1000).toFixed(3)} s in DuckDB`);
