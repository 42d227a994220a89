// Reads every Parquet file named on stdin (one path per line) with DuckDB, decoding every column
// of every row, and prints {"files":N,"rows":M} on stdout; the first file DuckDB cannot read
// fails the run. bench/e2e uses it to check that what ingest wrote is readable by a reader
// that shares no code with it.
import { DuckDBInstance } from '@duckdb/node-api';
import { readFileSync } from 'node:fs';

const files = readFileSync(0, 'utf8').split('\n').filter((f) => f !== '');
const instance = await DuckDBInstance.create(':memory:', { threads: '1' });
const conn = await instance.connect();
let rows = 0;
for (const f of files) {
  const q = "'" + f.replaceAll("'", "''") + "'";
  // Casting every column to text makes DuckDB decode every page of every column chunk.
  const sql = `SELECT count(*) AS n, sum(length(CAST(COLUMNS(*) AS VARCHAR))) FROM read_parquet(${q})`;
  try {
    const r = await (await conn.run(sql)).getRows();
    rows += Number(r[0][0]);
  } catch (e) {
    console.error(`${f}: ${e.message}`);
    process.exit(1);
  }
}
console.log(JSON.stringify({ files: files.length, rows }));
