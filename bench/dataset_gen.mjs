// dataset_gen.mjs writes the inputs of bench/dataset.sh with DuckDB into the
// folder given as its argument: ENTITY_ROWS entity rows (default 10,000,000)
// against three views, as Parquet for predictd and as CSV (times as
// integer nanoseconds) for pandas, the same rows in both:
//
//   entities.parquet|csv   txn_id, user_id (text, 1M users), device_id (int,
//                          1M devices), merchant_id (int, 100k merchants),
//                          event_timestamp (30 days, to the second), label,
//                          amount; rows in random time order
//   user_stats             1M users x 3 rows: spend_7d, orders_30d, segment
//   device_stats           1M devices x 3 rows: risk, sessions_7d
//   merchant_stats         100k merchants x 10 rows: fraud_rate, txn_count_7d
//   defs.yaml              the views (TTLs 7d, 3d, 1d) with sources
//
// Run from the folder @duckdb/node-api is installed in:
//   cd /tmp/pqgen && node /path/to/bench/dataset_gen.mjs OUTDIR
// The rows come from DuckDB's hash of the row number: a rerun writes the
// same data.
import { createRequire } from 'node:module';
import { writeFileSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';

const require = createRequire(join(process.cwd(), 'noop.js'));
const { DuckDBInstance } = require('@duckdb/node-api');
const out = resolve(process.argv[2] || '.');
mkdirSync(out, { recursive: true });
const N = Number(process.env.ENTITY_ROWS || 10_000_000);
const p = (f) => join(out, f).replaceAll("'", "''");

const db = await DuckDBInstance.create(':memory:');
const con = await db.connect();
await con.run("SET TimeZone = 'UTC'");
await con.run(`SET temp_directory = '${p('.duckdb_tmp')}'`);
// u(i, salt): a deterministic uniform number in [0, 1) from row i.
const u = (i, salt) => `(hash(${i} * 7919 + ${salt}) % 1000000000)::DOUBLE / 1e9`;
const T0 = "TIMESTAMPTZ '2026-11-01 00:00:00+00'";
const secs = (x) => `to_seconds((${x})::BIGINT)`;

await con.run(`CREATE TABLE ent AS SELECT
    i AS txn_id,
    'u' || lpad(CAST((hash(i * 31 + 1) % 1000000) AS VARCHAR), 7, '0') AS user_id,
    CAST(hash(i * 31 + 2) % 1000000 AS BIGINT) AS device_id,
    CAST(hash(i * 31 + 3) % 100000 AS BIGINT) AS merchant_id,
    ${T0} + ${secs(`${u('i', 4)} * 30 * 86400`)} AS event_timestamp,
    CAST(${u('i', 5)} < 0.03 AS BIGINT) AS label,
    round(${u('i', 6)} * 500, 2) AS amount
  FROM range(${N}) t(i) ORDER BY hash(i * 31 + 7)`);
const views = {
  user_stats: { key: "'u' || lpad(CAST(i % 1000000 AS VARCHAR), 7, '0')", keyName: 'user_id', rows: 3_000_000,
    feats: `round(${u('i', 11)} * 1000, 2) AS spend_7d, CAST(${u('i', 12)} * 40 AS BIGINT) AS orders_30d, CAST(${u('i', 13)} * 4 AS BIGINT) AS segment` },
  device_stats: { key: 'CAST(i % 1000000 AS BIGINT)', keyName: 'device_id', rows: 3_000_000,
    feats: `round(${u('i', 21)}, 4) AS risk, CAST(${u('i', 22)} * 100 AS BIGINT) AS sessions_7d` },
  merchant_stats: { key: 'CAST(i % 100000 AS BIGINT)', keyName: 'merchant_id', rows: 1_000_000,
    feats: `round(${u('i', 31)} * 0.1, 5) AS fraud_rate, CAST(${u('i', 32)} * 5000 AS BIGINT) AS txn_count_7d` },
};
let salt = 40;
for (const [name, v] of Object.entries(views)) {
  salt++;
  await con.run(`CREATE TABLE ${name} AS SELECT ${v.key} AS ${v.keyName},
      ${T0} - INTERVAL 3 DAY + ${secs(`${u('i', salt)} * 33 * 86400`)} AS event_time, ${v.feats}
    FROM range(${v.rows}) t(i) ORDER BY hash(i * 17 + 9)`);
}
for (const name of ['ent', ...Object.keys(views)]) {
  const file = name === 'ent' ? 'entities' : name;
  await con.run(`COPY ${name} TO '${p(file + '.parquet')}' (FORMAT parquet)`);
  // For pandas: the same rows, times as integer nanoseconds (read fast, no
  // date parsing to measure).
  const cols = (await con.runAndReadAll(`SELECT * FROM ${name} LIMIT 0`)).columnNames();
  const sel = cols.map((c) => (c === 'event_timestamp' || c === 'event_time' ? `epoch_ns(${c}) AS ${c}` : c)).join(', ');
  await con.run(`COPY (SELECT ${sel} FROM ${name}) TO '${p(file + '.csv')}' (HEADER, DELIMITER ',')`);
}
writeFileSync(join(out, 'defs.yaml'), `# bench/dataset.sh's views (written by bench/dataset_gen.mjs)
entities:
  - {name: user, join_key: user_id, key_type: string}
  - {name: device, join_key: device_id, key_type: int}
  - {name: merchant, join_key: merchant_id, key_type: int}
feature_views:
  - name: user_stats
    entity: user
    ttl: 168h
    source: user_stats.parquet
    features:
      - {name: spend_7d, type: float, default: 0}
      - {name: orders_30d, type: int, default: 0}
      - {name: segment, type: categorical}
  - name: device_stats
    entity: device
    ttl: 72h
    source: device_stats.parquet
    features:
      - {name: risk, type: float}
      - {name: sessions_7d, type: int, default: 0}
  - name: merchant_stats
    entity: merchant
    ttl: 24h
    source: merchant_stats.parquet
    features:
      - {name: fraud_rate, type: float, default: 0.02}
      - {name: txn_count_7d, type: int, default: 0}
`);
console.error(`wrote ${out}: ${N} entity rows`);
