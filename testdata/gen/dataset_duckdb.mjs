// dataset_duckdb.mjs is the second oracle of the point-in-time join
// (tools/dataset). From the CSV inputs dataset_oracle.py wrote in
// testdata/dataset/ it writes, with DuckDB:
//
//   entities.parquet, user_stats.parquet, user_profile.parquet,
//   merchant_stats.parquet   the same rows with typed columns: keys as
//                            VARCHAR and BIGINT, times as TIMESTAMPTZ
//                            (user_stats' event_time as a plain TIMESTAMP,
//                            which a reader takes as UTC), integer features
//                            as BIGINT or INTEGER, the others DOUBLE, nulls.
//   expected.duckdb.csv      the training set computed by DuckDB's ASOF
//                            JOIN over those Parquet files (not the CSVs):
//                            per view, the source rows deduplicated on (key,
//                            event_time) keeping the first in file order
//                            (read_parquet's file_row_number), then
//                            e ASOF LEFT JOIN s ON key AND e.ts >= s.event_time,
//                            then values where ts - event_time < ttl, else
//                            the feature's default (or null).
//
// tools/dataset's tests hold predictd's output over the Parquet inputs to it
// and to pandas' answer. Values are JavaScript's shortest round-trip form of
// a float64; times RFC 3339 in UTC; an empty cell is null.
//
// Run from the folder @duckdb/node-api is installed in (see
// testdata/README.md), after dataset_oracle.py:
//
//   cd /tmp/pqgen && node /path/to/repo/testdata/gen/dataset_duckdb.mjs
//
// DuckDB runs single-threaded, so a rerun writes identical files.
import { createRequire } from 'node:module';
import { writeFileSync } from 'node:fs';
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
const dir = join(here, '..', 'dataset');
const p = (f) => join(dir, f).replaceAll("'", "''");

const db = await DuckDBInstance.create(':memory:');
const con = await db.connect();
await con.run('SET threads = 1');
await con.run("SET TimeZone = 'UTC'");

// ---- Parquet copies of the inputs -------------------------------------------
const inputs = {
  entities: { txn_id: 'BIGINT', user_id: 'VARCHAR', merchant_id: 'BIGINT', event_timestamp: 'TIMESTAMPTZ', label: 'BIGINT', amount: 'DOUBLE', country: 'VARCHAR' },
  user_stats: { user_id: 'VARCHAR', event_time: 'TIMESTAMP', spend_7d: 'DOUBLE', orders_30d: 'BIGINT', segment: 'INTEGER' },
  user_profile: { user_id: 'VARCHAR', event_time: 'TIMESTAMPTZ', tenure_days: 'BIGINT', score: 'DOUBLE' },
  merchant_stats: { merchant_id: 'BIGINT', event_time: 'TIMESTAMPTZ', fraud_rate: 'DOUBLE', txn_count: 'BIGINT' },
};
for (const [name, cols] of Object.entries(inputs)) {
  const spec = Object.entries(cols).map(([c, t]) => `'${c}': '${t === 'TIMESTAMP' ? 'TIMESTAMPTZ' : t}'`).join(', ');
  const sel = Object.entries(cols).map(([c, t]) => (t === 'TIMESTAMP' ? `CAST(${c} AS TIMESTAMP) AS ${c}` : c)).join(', ');
  await con.run(`COPY (SELECT ${sel} FROM read_csv('${p(name + '.csv')}', header = true, columns = {${spec}}, nullstr = ''))
    TO '${p(name + '.parquet')}' (FORMAT parquet, ROW_GROUP_SIZE 128)`);
}

// ---- the join, over the Parquet files ----------------------------------------
const views = [
  { name: 'user_stats', key: 'user_id', ttl: '2 hours', feats: [['spend_7d', 0], ['orders_30d', 0], ['segment', null]] },
  { name: 'user_profile', key: 'user_id', ttl: '48 hours', feats: [['tenure_days', null], ['score', -1]] },
  { name: 'merchant_stats', key: 'merchant_id', ttl: '1 hour', feats: [['fraud_rate', 0.02], ['txn_count', null]] },
];
let sql = `WITH e AS (SELECT *, file_row_number AS _row FROM read_parquet('${p('entities.parquet')}', file_row_number = true))`;
for (const v of views) {
  const cols = v.feats.map(([f]) => `CAST(${f} AS DOUBLE) AS ${f}`).join(', ');
  sql += `, ${v.name} AS (
    SELECT ${v.key}, CAST(event_time AS TIMESTAMPTZ) AS _t, ${cols}
    FROM read_parquet('${p(v.name + '.parquet')}', file_row_number = true)
    QUALIFY row_number() OVER (PARTITION BY ${v.key}, event_time ORDER BY file_row_number) = 1)`;
  sql += `, j_${v.name} AS (
    SELECT e._row, ${v.feats.map(([f, d]) => `CASE WHEN s._t IS NOT NULL AND e.event_timestamp - s._t < INTERVAL '${v.ttl}' THEN s.${f} ELSE ${d === null ? 'NULL' : `CAST(${d} AS DOUBLE)`} END AS ${f}`).join(', ')}
    FROM e ASOF LEFT JOIN ${v.name} s ON e.${v.key} = s.${v.key} AND e.event_timestamp >= s._t)`;
}
const feats = views.flatMap((v) => v.feats.map(([f]) => `j_${v.name}.${f}`));
sql += `
  SELECT e.txn_id, e.user_id, e.merchant_id, strftime(e.event_timestamp, '%Y-%m-%dT%H:%M:%SZ') AS event_timestamp,
         e.label, e.amount, e.country, ${feats.join(', ')}
  FROM e ${views.map((v) => `JOIN j_${v.name} USING (_row)`).join(' ')}
  ORDER BY e._row`;
const reader = await con.runAndReadAll(sql);
const header = reader.columnNames();
const cell = (v) => {
  if (v === null || v === undefined) return '';
  const s = typeof v === 'bigint' ? v.toString() : String(v);
  return /[",\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
};
const lines = [header.join(','), ...reader.getRows().map((r) => r.map(cell).join(','))];
writeFileSync(join(dir, 'expected.duckdb.csv'), lines.join('\n') + '\n');
console.error(`wrote ${dir}: ${lines.length - 1} rows`);
