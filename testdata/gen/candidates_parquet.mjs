// candidates_parquet.mjs writes testdata/candidates/holdout.parquet, the
// Parquet copy of holdout.csv (made by candidates_fixtures.py), with
// DuckDB: f0..f7 and target DOUBLE (empty cells null), segment VARCHAR,
// y TINYINT. Run from the repository root:
//
//   NODE_PATH=/tmp/pqgen/node_modules node testdata/gen/candidates_parquet.mjs
//
// `predictd candidates` on it must give the same quality as on the CSV.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const { DuckDBInstance } = require('@duckdb/node-api');
const dir = join(dirname(fileURLToPath(import.meta.url)), '..', 'candidates');
const db = await DuckDBInstance.create(':memory:');
const con = await db.connect();
await con.run('SET threads = 1');
const cols = ['f0', 'f1', 'f2', 'f3', 'f4', 'f5', 'f6', 'f7'];
await con.run(`CREATE TABLE h AS SELECT ${cols.map((c) => `CAST(${c} AS DOUBLE) AS ${c}`).join(', ')},
  CAST(segment AS VARCHAR) AS segment, CAST(y AS TINYINT) AS y, CAST(target AS DOUBLE) AS target
  FROM read_csv('${join(dir, 'holdout.csv')}', header = true, all_varchar = true)`);
await con.run(`COPY h TO '${join(dir, 'holdout.parquet')}' (FORMAT PARQUET, COMPRESSION ZSTD, ROW_GROUP_SIZE 300)`);
const r = await con.runAndReadAll('SELECT count(*) AS n, count(f0) AS f0 FROM h');
console.log(r.getRowObjects());
