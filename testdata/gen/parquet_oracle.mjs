// parquet_oracle.mjs writes the Parquet files of testdata/parquet/ with two
// writers other than parquet-go (the library predictd reads them with), and
// beside each the answer DuckDB's own Parquet reader gives for it:
//
//   rows.duckdb.parquet      DuckDB: every numeric type a score input may
//                            hold (DOUBLE, FLOAT, TINYINT..BIGINT, UBIGINT,
//                            BOOLEAN, DECIMAL stored as INT32, INT64 and
//                            FIXED_LEN_BYTE_ARRAY), nulls, dictionary pages,
//                            several row groups, zstd; plus a string, a
//                            LIST and a STRUCT column a reader must refuse
//                            as a feature.
//   rows.duckdb.csv          the numeric columns as DuckDB reads them, cast
//                            to DOUBLE by DuckDB.
//   features.duckdb.parquet  feature rows of a view for materialize: string
//                            and integer join keys, the same instants as
//                            TIMESTAMP (micros), TIMESTAMP_MS, TIMESTAMP_NS
//                            and TIMESTAMPTZ, equal event times, nulls,
//                            DECIMAL(38,2), several row groups.
//   features.parquetjs.parquet  the same kind of rows written by a second,
//                            unrelated writer (the npm package
//                            @dsnp/parquetjs): legacy INT96 and
//                            TIMESTAMP_MILLIS event times, data page v2,
//                            snappy and gzip, optional (null) columns,
//                            small row groups, and a repeated column.
//   features.*.latest.csv    per entity, the row materialize must keep:
//                            the latest event time at or before the cut-off
//                            (the first in file order of equal times), as
//                            DuckDB computes it from its own reading of the
//                            file (read_parquet with file_row_number).
//
// Values in the CSVs are JavaScript's shortest round-trip form of a float64
// (a float64 parse is exact); an empty cell is null; event times are
// microseconds since the Unix epoch. See testdata/README.md, "Parquet from
// other writers", for how to run it. A rerun writes identical CSVs (the
// rows come from a fixed-seed generator; DuckDB runs single-threaded).
import { createRequire } from 'node:module';
import { mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const WANT_DUCKDB = '1.5.6-r.1';
const WANT_PARQUETJS = 'v1.8.8';
// Both packages are resolved from the current folder (the scratch folder
// they were installed in), never from the repository.
const require = createRequire(join(process.cwd(), 'noop.js'));
for (const [pkg, want] of [['@duckdb/node-api', WANT_DUCKDB], ['@dsnp/parquetjs', WANT_PARQUETJS]]) {
  const got = require(`${pkg}/package.json`).version;
  if (got !== want) {
    throw new Error(`${pkg} ${got} is installed, want ${want} (see testdata/README.md)`);
  }
}
const { DuckDBInstance } = require('@duckdb/node-api');
const parquetjs = require('@dsnp/parquetjs');
// parquetjs v1.8.8 writes an INT96 value as a 64-bit integer with a zero or
// all-ones high word, so it cannot write an Impala/Spark timestamp (a Julian
// day in the high 4 bytes). Its PLAIN encoder for INT96 alone is replaced,
// in memory, by one writing the 12 bytes as the format defines them (the
// low 8 bytes, then the high 4, little endian); the script checks below
// that DuckDB reads those bytes as the instants written beside them as
// TIMESTAMP_MILLIS.
{
  const plain = require('@dsnp/parquetjs/dist/lib/codec/plain.js');
  const encode = plain.encodeValues;
  plain.encodeValues = (type, values, opts) => {
    if (type !== 'INT96') return encode(type, values, opts);
    const buf = Buffer.alloc(12 * values.length);
    values.forEach((v, i) => {
      buf.writeBigUInt64LE(BigInt.asUintN(64, v), 12 * i);
      buf.writeUInt32LE(Number(BigInt.asUintN(32, v >> 64n)), 12 * i + 8);
    });
    return buf;
  };
}

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, '..', 'parquet');
mkdirSync(out, { recursive: true });

// The cut-off the feature rows straddle, and the first event time.
const UNTIL = '2026-11-25 00:00:00';
const T0 = Date.UTC(2026, 10, 20); // ms

// mulberry32: a small fixed-seed generator, so reruns write the same rows.
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const db = await DuckDBInstance.create(':memory:');
const con = await db.connect();
await con.run('SET threads = 1');
const q = (s) => s.replaceAll("'", "''");

// csv writes rows (arrays) under header; null and undefined are empty.
function csv(path, header, rows) {
  const cell = (v) => (v === null || v === undefined ? '' : typeof v === 'bigint' ? v.toString() : String(v));
  writeFileSync(path, [header.join(','), ...rows.map((r) => r.map(cell).join(','))].join('\n') + '\n');
}

async function query(sql) {
  const r = await con.runAndReadAll(sql);
  return r.getRows();
}

// ---- rows.duckdb.parquet: score input ------------------------------------
const NUMERIC = ['d', 'f', 'i8', 'i16', 'i32', 'i64', 'u64', 'b', 'dec9', 'dec18', 'dec38', 'cat'];
{
  const path = join(out, 'rows.duckdb.parquet');
  // 5,000 rows of each type; every 7th value of d, i32 and dec18 null; cat
  // has 6 distinct values (DuckDB writes it with a dictionary page). The
  // unscaled decimals stay under 2^53, so value/10^scale is one correctly
  // rounded division in both readers.
  await con.run(`CREATE TABLE rows AS
    SELECT
      CASE WHEN r % 7 = 3 THEN NULL ELSE (r * 0.37 - 900.125) / 3.0 END::DOUBLE AS d,
      ((r % 1000) / 7.0 - 50)::FLOAT AS f,
      ((r % 256) - 128)::TINYINT AS i8,
      ((r * 13) % 65536 - 32768)::SMALLINT AS i16,
      CASE WHEN r % 7 = 5 THEN NULL ELSE (r * 104729) % 2147483647 - 1073741823 END::INTEGER AS i32,
      (r::BIGINT * 1801439850948 - 4503599627370496)::BIGINT AS i64,
      (18446744073709551615::UBIGINT - r::UBIGINT * 3074457345618258::UBIGINT) AS u64,
      (r % 3 = 0)::BOOLEAN AS b,
      (((r * 12345) % 999999999 - 499999999)::DECIMAL(9,0) * 0.01)::DECIMAL(9,2) AS dec9,
      CASE WHEN r % 7 = 1 THEN NULL ELSE (((r::BIGINT * 1234567891) % 900719925474099 - 450359962737049)::DECIMAL(18,0) * 0.0001)::DECIMAL(18,4) END AS dec18,
      (((r::BIGINT * 98765432101) % 9007199254740991 - 4503599627370495)::DECIMAL(38,0) * 0.000001)::DECIMAL(38,6) AS dec38,
      ((r % 6) * 0.5)::DOUBLE AS cat,
      'row ' || r AS name,
      [r, r + 1] AS lst,
      {'a': r * 1.5} AS st
    FROM range(5000) t(r)`);
  rmSync(path, { force: true });
  await con.run(`COPY (SELECT ${NUMERIC.join(', ')}, name, lst, st FROM rows)
    TO '${q(path)}' (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 2048)`);
  const groups = await query(`SELECT count(DISTINCT row_group_id) FROM parquet_metadata('${q(path)}')`);
  if (Number(groups[0][0]) < 2) throw new Error('rows.duckdb.parquet: want several row groups');
  const dict = await query(`SELECT count(*) FROM parquet_metadata('${q(path)}') WHERE path_in_schema = 'cat' AND dictionary_page_offset IS NOT NULL`);
  if (Number(dict[0][0]) === 0) throw new Error('rows.duckdb.parquet: want a dictionary page in column cat');
  const rows = await query(`SELECT ${NUMERIC.map((c) => `CAST(${c} AS DOUBLE)`).join(', ')}
    FROM read_parquet('${q(path)}', file_row_number = true) ORDER BY file_row_number`);
  csv(join(out, 'rows.duckdb.csv'), NUMERIC, rows);
}

// ---- feature rows for materialize ----------------------------------------
// featureRows draws n rows over `users` entities: event times on a
// millisecond grid (so TIMESTAMP_MS holds them exactly) spread over eight
// days around UNTIL, with many equal times, and nulls in spend_7d.
function featureRows(seed, n, users) {
  const r = rng(seed);
  const rows = [];
  for (let i = 0; i < n; i++) {
    const u = Math.floor(r() * users);
    // 1 in 4 rows share one of a few instants, so equal times are common.
    const ms = r() < 0.25 ? T0 + Math.floor(r() * 4) * 86400000 : T0 + Math.floor(r() * 8 * 86400000);
    rows.push({
      user: `u${String(u).padStart(4, '0')}`,
      uid: 100000 + u,
      ms,
      spend: r() < 0.1 ? null : Math.round((r() * 2000 - 100) * 1000) / 1000,
      orders: Math.floor(r() * 60),
      segment: Math.floor(r() * 5),
      balanceCents: BigInt(Math.floor(r() * 2e15)) - 10n ** 15n,
    });
  }
  return rows;
}

// latest writes DuckDB's answer for a feature file: per entity (keyed by
// keyCol), the row with the latest event time (timeCol) at or before
// UNTIL, the first in file order among equal times.
async function latest(path, keyCol, timeCol, feats, csvPath) {
  const rows = await query(`
    WITH r AS (
      SELECT *, row_number() OVER (PARTITION BY ${keyCol} ORDER BY ${timeCol} DESC, file_row_number) AS k
      FROM read_parquet('${q(path)}', file_row_number = true)
      WHERE ${timeCol} <= TIMESTAMP '${UNTIL}')
    SELECT CAST(${keyCol} AS VARCHAR), epoch_us(${timeCol}::TIMESTAMP), ${feats.map((c) => `CAST(${c} AS DOUBLE)`).join(', ')}
    FROM r WHERE k = 1 ORDER BY 1`);
  csv(csvPath, ['key', 'event_time_us', ...feats], rows);
}

const FEATS = ['spend_7d', 'orders_30d', 'segment'];
{
  const path = join(out, 'features.duckdb.parquet');
  const rows = featureRows(7, 6000, 900);
  await con.run(`CREATE TABLE feat (user_id VARCHAR, uid BIGINT, ms BIGINT, spend_7d DOUBLE, orders_30d INTEGER, segment SMALLINT, balance DECIMAL(38,2))`);
  const app = await con.createAppender('feat');
  for (const x of rows) {
    app.appendVarchar(x.user);
    app.appendBigInt(BigInt(x.uid));
    app.appendBigInt(BigInt(x.ms));
    if (x.spend === null) app.appendNull(); else app.appendDouble(x.spend);
    app.appendInteger(x.orders);
    app.appendSmallInt(x.segment);
    app.appendVarchar((Number(x.balanceCents) / 100).toFixed(2));
    app.endRow();
  }
  app.closeSync();
  rmSync(path, { force: true });
  await con.run(`COPY (SELECT user_id, uid,
      make_timestamp(ms * 1000) AS ts,
      make_timestamp(ms * 1000)::TIMESTAMP_MS AS ts_ms,
      make_timestamp(ms * 1000)::TIMESTAMP_NS AS ts_ns,
      make_timestamp(ms * 1000)::TIMESTAMPTZ AS ts_tz,
      spend_7d, orders_30d, segment, balance
    FROM feat) TO '${q(path)}' (FORMAT parquet, ROW_GROUP_SIZE 2048)`);
  const groups = await query(`SELECT count(DISTINCT row_group_id) FROM parquet_metadata('${q(path)}')`);
  if (Number(groups[0][0]) < 2) throw new Error('features.duckdb.parquet: want several row groups');
  await latest(path, 'user_id', 'ts', [...FEATS, 'balance'], join(out, 'features.duckdb.latest.csv'));
}

{
  const path = join(out, 'features.parquetjs.parquet');
  const rows = featureRows(11, 3000, 500);
  const schema = new parquetjs.ParquetSchema({
    user_id: { type: 'UTF8', compression: 'SNAPPY' },
    ts_96: { type: 'INT96' },
    ts_ms: { type: 'TIMESTAMP_MILLIS', compression: 'GZIP' },
    spend_7d: { type: 'DOUBLE', optional: true },
    orders_30d: { type: 'INT64', optional: true },
    segment: { type: 'INT32' },
    tags: { type: 'UTF8', repeated: true },
  });
  rmSync(path, { force: true });
  const w = await parquetjs.ParquetWriter.openFile(schema, path, { rowGroupSize: 700 });
  const JULIAN_EPOCH = 2440588n; // the Julian day of 1970-01-01
  for (const [i, x] of rows.entries()) {
    const day = BigInt(Math.floor(x.ms / 86400000));
    const nanos = BigInt(x.ms % 86400000) * 1000000n;
    const row = {
      user_id: x.user,
      // INT96: nanoseconds of the day in the low 8 bytes, the Julian day
      // in the high 4.
      ts_96: ((day + JULIAN_EPOCH) << 64n) | nanos,
      ts_ms: new Date(x.ms),
      segment: x.segment,
      tags: i % 3 === 0 ? [] : ['a', 'b'].slice(0, i % 3),
    };
    if (x.spend !== null) row.spend_7d = x.spend;
    if (i % 11 !== 4) row.orders_30d = BigInt(x.orders);
    await w.appendRow(row);
  }
  await w.close();
  const groups = await query(`SELECT count(DISTINCT row_group_id) FROM parquet_metadata('${q(path)}')`);
  if (Number(groups[0][0]) < 2) throw new Error('features.parquetjs.parquet: want several row groups');
  // The two time columns hold the same instants; DuckDB's reading of each
  // must agree before either is an oracle.
  const differ = await query(`SELECT count(*) FROM read_parquet('${q(path)}') WHERE ts_96 IS DISTINCT FROM ts_ms`);
  if (Number(differ[0][0]) !== 0) throw new Error('features.parquetjs.parquet: DuckDB reads ts_96 and ts_ms differently');
  await latest(path, 'user_id', 'ts_96', FEATS, join(out, 'features.parquetjs.latest.csv'));
}
console.log(`wrote ${out}`);
