// What the used-token record costs a handshake: N appends of one record line, one at a time as
// handshakes arrive (each waits for its own), through the asynchronous AppendFile (a promise
// through the thread pool, what the record used before) and through UsedTokenLog (one synchronous
// write). Prints process CPU (thread pool included) and wall time per append; writes JSON too.
//   node --import tsx server/bench/used-token-log-bench.ts [N] [out.json]
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppendFile } from '../src/store/append-file.ts';
import { UsedTokenLog } from '../src/store/used-token-log.ts';
import { WriteHealth } from '../src/store/write-health.ts';

const count = Math.min(Number(process.argv[2] ?? 20_000), 200_000);
const out = process.argv[3] ?? 'used-token-log-bench.json';
const dir = mkdtempSync(join(tmpdir(), 'used-token-log-bench-'));
const health = new WriteHealth('token_log', undefined, undefined);
const line = (i: number) => `${String(i).padStart(22, 'x')} ${Date.now() + 3_600_000}\n`;

async function measure(name: string, append: (l: string) => void | Promise<void>) {
  const cpu = process.cpuUsage();
  const started = performance.now();
  for (let i = 0; i < count; i++) await append(line(i));
  const wallMs = performance.now() - started;
  const used = process.cpuUsage(cpu);
  const result = { name, count, cpuMicrosPerAppend: (used.user + used.system) / count, wallMicrosPerAppend: (wallMs * 1000) / count };
  process.stdout.write(`${name.padEnd(28)} ${result.cpuMicrosPerAppend.toFixed(1)} µs CPU, ${result.wallMicrosPerAppend.toFixed(1)} µs wall per append\n`);
  return result;
}

try {
  const asyncFile = new AppendFile(join(dir, 'async.log'), health);
  const before = await measure('AppendFile (promise)', (l) => asyncFile.append(l));
  await asyncFile.close();
  const syncLog = new UsedTokenLog(join(dir, 'sync.log'), health);
  const after = await measure('UsedTokenLog (write(2))', (l) => syncLog.append(l));
  await syncLog.close();
  writeFileSync(out, `${JSON.stringify({ benchmark: 'used-token-log', at: new Date().toISOString(), note: 'shared machine: figures are noisy', results: [before, after] }, null, 2)}\n`);
  process.stdout.write(`  results  ${out}\n`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
