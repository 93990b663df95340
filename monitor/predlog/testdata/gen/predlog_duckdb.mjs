// predlog_duckdb.mjs is the DuckDB cross-check of the prediction log
// (monitor/predlog). It reads testdata/log (a log written by the package:
// PREDLOG_WRITE_FIXTURE=1 go test -run TestWriteFixture ./monitor/predlog)
// through a *.parquet glob, as docs/prediction-log.md tells users to, and
// writes:
//
//   duckdb_rows.jsonl    a header line of column names, then one JSON array
//                        per row in id order: strings as they are, numbers
//                        by JavaScript's String() (NaN, Infinity), the time
//                        as microseconds since the epoch, null as null.
//   duckdb_types.jsonl   [column, DuckDB type] per column (DESCRIBE).
//
// TestDuckDBReadsLog holds them to the records the fixture was written
// from. Run from the folder @duckdb/node-api is installed in (see
// testdata/README.md at the repository root):
//
//   cd /tmp/pqgen && node /path/to/repo/monitor/predlog/testdata/gen/predlog_duckdb.mjs
import { createRequire } from 'node:module';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const WANT_DUCKDB = '1.5.6-r.1';
const require = createRequire(join(process.cwd(), 'noop.js'));
const got = require('@duckdb/node-api/package.json').version;
if (got !== WANT_DUCKDB) {
  throw new Error(`@duckdb/node-api ${got} is installed, want ${WANT_DUCKDB}`);
}
const { DuckDBInstance } = require('@duckdb/node-api');

const here = dirname(fileURLToPath(import.meta.url));
const dir = join(here, '..');
const glob = join(dir, 'log', '**', '*.parquet').replaceAll("'", "''");

const db = await DuckDBInstance.create(':memory:');
const con = await db.connect();
await con.run('SET threads = 1');
await con.run("SET TimeZone = 'UTC'");

const src = `read_parquet('${glob}', union_by_name = true)`;
const desc = await con.runAndReadAll(`DESCRIBE SELECT * FROM ${src}`);
const types = desc.getRowObjects().map((r) => [String(r.column_name), String(r.column_type)]);
writeFileSync(join(dir, 'duckdb_types.jsonl'), types.map((t) => JSON.stringify(t)).join('\n') + '\n');

const cols = types.map((t) => t[0]);
const sel = cols.map((c) => (c === 'time' ? 'epoch_us("time") AS "time"' : `"${c}"`)).join(', ');
const res = await con.runAndReadAll(
  `SELECT ${sel} FROM ${src} ORDER BY CAST(split_part(id, '-', 2) AS INTEGER)`);
const text = (v) => (v === null ? null : String(v));
const lines = [JSON.stringify(cols)];
for (const r of res.getRows()) {
  lines.push(JSON.stringify(r.map(text)));
}
writeFileSync(join(dir, 'duckdb_rows.jsonl'), lines.join('\n') + '\n');
console.log(`wrote ${res.getRows().length} rows, ${cols.length} columns`);
