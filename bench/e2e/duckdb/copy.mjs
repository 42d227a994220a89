// Runs one COPY statement in DuckDB with one thread and prints {"rows":N,"seconds":S,"cpuSeconds":C}
// on stdout. Used by bench/e2e as the baseline; both times cover the statement only, not node's
// start-up (cpuSeconds is the whole process's user+system time over the statement).
//
//	node copy.mjs 'COPY (SELECT …) TO …'
import { DuckDBInstance } from '@duckdb/node-api';

const sql = process.argv[2];
if (!sql) {
  console.error('usage: node copy.mjs SQL');
  process.exit(2);
}
const threads = process.env.DUCKDB_THREADS || '1';
const instance = await DuckDBInstance.create(':memory:', { threads });
const conn = await instance.connect();
await conn.run("SET preserve_insertion_order = false");
const cpu0 = process.cpuUsage();
const t0 = process.hrtime.bigint();
const res = await conn.run(sql);
const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
const cpu = process.cpuUsage(cpu0);
const version = (await (await conn.run('SELECT version()')).getRows())[0][0];
console.log(JSON.stringify({ rows: Number(res.rowsChanged), seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6, version, threads: Number(threads) }));
