// table_fixture.mjs writes the Parquet fixture of internal/table's
// other-writer test, testdata/table/mixed.duckdb.parquet, with DuckDB (not
// parquet-go, the library predictd reads it with), and beside it
// testdata/table/mixed.expected.csv: every cell as DuckDB itself reads the
// file back, so a reading shared with the writer cannot hide a mistake.
//
// mixed.duckdb.parquet: 3,000 rows in row groups of 1,000; a column of each
// type internal/table maps (BIGINT, INTEGER, UBIGINT, DOUBLE, FLOAT,
// DECIMAL(18,3), BOOLEAN, VARCHAR with commas, quotes, newlines and
// non-ASCII, TIMESTAMP (micros), TIMESTAMP_NS, TIMESTAMPTZ, DATE), with
// nulls in most, NaN in the DOUBLE column, dictionary pages, zstd.
// mixed.expected.csv: the same columns; numbers as JavaScript's shortest
// round-trip form of the float64 DuckDB casts them to, booleans 1 or 0,
// times as nanoseconds since the Unix epoch (a DATE at midnight UTC), an
// empty cell for null and "NaN" for NaN.
//
// Run it as gen/parquet_oracle.mjs is run (testdata/README.md, "Parquet
// from other writers"): from the scratch folder holding the npm packages,
//
//     cd /tmp/pqgen && node /path/to/predictd/testdata/gen/table_fixture.mjs
//
// A rerun writes the same CSV (fixed-seed rows, one DuckDB thread).
import { createRequire } from 'node:module';
import { mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const WANT_DUCKDB = '1.5.6-r.1';
const require = createRequire(join(process.cwd(), 'noop.js'));
const got = require('@duckdb/node-api/package.json').version;
if (got !== WANT_DUCKDB) {
  throw new Error(`@duckdb/node-api ${got} is installed, want ${WANT_DUCKDB} (see testdata/README.md)`);
}
const { DuckDBInstance } = require('@duckdb/node-api');

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, '..', 'table');
mkdirSync(out, { recursive: true });
const pq = join(out, 'mixed.duckdb.parquet');
rmSync(pq, { force: true });

const db = await DuckDBInstance.create(':memory:');
const con = await db.connect();
await con.run('SET threads = 1');
await con.run(`CREATE TABLE t AS
  SELECT
    i::BIGINT AS id,
    CASE WHEN i % 7 = 3 THEN NULL ELSE (i * 37 % 2001) - 1000 END::INTEGER AS i32,
    (i * 2654435761 % 4294967296)::UBIGINT * 1000003 AS u64,
    CASE WHEN i % 11 = 5 THEN NULL WHEN i % 97 = 1 THEN 'NaN'::DOUBLE ELSE ((i * 7919 % 10007) - 5000) / 37.0 END::DOUBLE AS x,
    ((i * 13 % 101) / 8.0)::FLOAT AS f,
    CASE WHEN i % 13 = 0 THEN NULL ELSE ((i * 7 % 100003) - 50000) / 1000.0 END::DECIMAL(18,3) AS dec,
    CASE WHEN i % 5 = 4 THEN NULL ELSE i % 3 = 0 END AS b,
    CASE WHEN i % 9 = 8 THEN NULL ELSE ['card', 'bank', 'a,b', 'say "hi"', 'line1' || chr(10) || 'line2', 'café ✓'][1 + i % 6] END AS s,
    TIMESTAMP '2026-01-01 00:00:00' + to_microseconds(i * 86400013::BIGINT) AS ts,
    CASE WHEN i % 17 = 2 THEN NULL ELSE (TIMESTAMP '1999-12-31 23:59:59' + to_microseconds(i * 1000001::BIGINT))::TIMESTAMP_NS END AS tsns,
    (TIMESTAMP '2026-06-01 12:00:00' + to_seconds(i * 61::BIGINT))::TIMESTAMPTZ AS tz,
    (DATE '2020-02-28' + i::INTEGER)::DATE AS d
  FROM range(3000) r(i)`);
await con.run(`COPY t TO '${pq}' (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 1000)`);

const reader = await con.runAndReadAll(`SELECT
    id, i32, u64::DOUBLE, x, f::DOUBLE, dec::DOUBLE, b::INTEGER, s,
    epoch_ns(ts), epoch_ns(tsns), epoch_ns(tz), epoch_ns(d::TIMESTAMP)
  FROM read_parquet('${pq}') ORDER BY id`);
const header = ['id', 'i32', 'u64', 'x', 'f', 'dec', 'b', 's', 'ts', 'tsns', 'tz', 'd'];
const cell = (v) => {
  if (v === null || v === undefined) return '';
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'number') return Number.isNaN(v) ? 'NaN' : String(v);
  const s = String(v);
  return /[",\n\r]/.test(s) || s === '' ? '"' + s.replaceAll('"', '""') + '"' : s;
};
const lines = [header.join(',')];
for (const r of reader.getRows()) lines.push(r.map(cell).join(','));
writeFileSync(join(out, 'mixed.expected.csv'), lines.join('\n') + '\n');
console.log(`wrote ${pq} and mixed.expected.csv (${lines.length - 1} rows)`);
