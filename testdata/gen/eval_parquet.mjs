// eval_parquet.mjs SRC.csv DST.parquet: the Parquet twin of an eval
// holdout, written by DuckDB (not parquet-go, the library predictd reads it
// with): features DOUBLE with NULL for the empty cells, y BIGINT, the slice
// columns VARCHAR. testdata/gen/eval_oracle.py runs it from a folder with
// @duckdb/node-api installed (ESM resolves packages from the script's
// folder, so it copies this file there).
import { DuckDBInstance } from '@duckdb/node-api';

const [, , src, dst] = process.argv;
const db = await DuckDBInstance.create(':memory:');
const c = await db.connect();
const q = (s) => s.replaceAll("'", "''");
await c.run(`COPY (SELECT * FROM read_csv('${q(src)}', header=true, types={'region':'VARCHAR','segment':'VARCHAR','group':'VARCHAR'})) TO '${q(dst)}' (FORMAT parquet)`);
