// DuckDB baseline for the batch-aggregation benchmark: 1-minute tumbling windows per device
// (avg/min/max/count of temp), timed end to end: read_csv, GROUP BY, ORDER BY, COPY TO CSV,
// in an in-memory database.
//
// usage: node bench/duckdb/window.mjs INPUT.csv OUTPUT.csv THREADS
// (after `npm ci` in bench/duckdb)

import { DuckDBInstance, version } from '@duckdb/node-api';

const [src, dst, threads] = process.argv.slice(2);
if (!src || !dst || !/^[1-9][0-9]*$/.test(threads ?? '')) {
  console.error('usage: node window.mjs INPUT.csv OUTPUT.csv THREADS');
  process.exit(2);
}
const literal = (s) => `'${s.replaceAll("'", "''")}'`;

const t0 = performance.now();
const instance = await DuckDBInstance.create(':memory:', { threads });
const connection = await instance.connect();
// window_start is floor(ts / 1 min) * 1 min, written without `//`, which truncates toward zero.
await connection.run(`
  COPY (
    SELECT ts - ((ts % 60000) + 60000) % 60000 AS window_start,
           ts - ((ts % 60000) + 60000) % 60000 + 60000 AS window_end,
           device,
           avg(temp) AS avg_temp, min(temp) AS min_temp, max(temp) AS max_temp, count(*) AS n
    FROM read_csv(${literal(src)}, header = true, delim = ',',
                  columns = {'device': 'VARCHAR', 'ts': 'BIGINT', 'temp': 'DOUBLE'})
    GROUP BY device, window_start, window_end
    ORDER BY device, window_start
  ) TO ${literal(dst)} (FORMAT csv, HEADER true)`);
const t1 = performance.now();
connection.closeSync();
console.error(`duckdb ${version()} threads=${threads}: ${((t1 - t0) / 1000).toFixed(3)} s in DuckDB`);
