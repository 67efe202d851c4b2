import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import Database from 'better-sqlite3';
import { openSqliteLedger } from './src/ledger/sqlite/sqlite-ledger.js';
import { BatchPreparer } from './src/worker/prepare.js';
import { leanRows } from './test/bench/worker-postgres.js';
const N = 200000, B = 13333, dir = mkdtempSync(join(tmpdir(), 'mb2-'));
const samples = []; const msgs = [];
const end0 = Date.now() - 60000 - 200 * 5000;
for (let i = 0; i < N; i++) { const m = i % 1000, seq = Math.floor(i / 1000), machine = `host-${String(m).padStart(4, '0')}`; const start = end0 + seq * 5000;
  const s = { v: 1, id: `${machine}:1764252000000:${seq}`, machine, labels: { team: `team-${m % 7}`, env: m % 3 ? 'prod' : 'dev' }, start, end: start + 5000, cpu: { cores: 8, busySeconds: ((i * 7919) % 40000) / 1000 }, mem: { totalBytes: 34359738368, usedBytes: 4294967296 + ((i * 104729) % 8589934592) } };
  samples.push(s); msgs.push({ offset: String(i), timestamp: String(Date.now()), key: Buffer.from(machine), value: Buffer.from(JSON.stringify(s)) }); }
for (let round = 0; round < 6; round++) {
  const p = new BatchPreparer(); const batches = [];
  for (let i = 0; i < N; i += B) { const pr = p.prepare(msgs.slice(i, i + B)); batches.push({ group: 'g', topic: 't', partition: 0, fetchedOffset: i, lastOffset: Math.min(N, i + B) - 1, highWatermark: N, samples: pr.samples, rejects: [], prunedBefore: 0, maxTimestamp: pr.maxTimestamp, retentionGap: false, now: Date.now() }); }
  const led = openSqliteLedger(join(dir, `l${round}.db`));
  let c0 = process.cpuUsage(); for (const b of batches) led.applyBatchSync(b as never); let cu = process.cpuUsage(c0); const a = (cu.user + cu.system) / 1000; led.close?.();
  const path = join(dir, `b${round}.db`); openSqliteLedger(path).db.close();
  const db = new Database(path); db.pragma('journal_mode = WAL'); db.pragma('synchronous = NORMAL'); db.pragma('cache_size = -65536');
  const ins = db.prepare(`INSERT OR IGNORE INTO samples (run, seq, shape, start_ms, window_ms, cpu_busy_us, mem_used_bytes, ingest_lag_ms, adjusted_in) VALUES (?,?,?,?,?,?,?,?,?)`);
  const rows = leanRows(samples as never);
  const tx = db.transaction((from: number) => { for (let i = from; i < Math.min(rows.length, from + B); i++) { const r = rows[i]!; ins.run(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8]); } });
  c0 = process.cpuUsage(); for (let i = 0; i < N; i += B) tx.immediate(i); cu = process.cpuUsage(c0); const b = (cu.user + cu.system) / 1000; db.close();
  console.log(`ledger ${(N / a * 1000).toFixed(0)}/s  bare ${(N / b * 1000).toFixed(0)}/s  ratio ${(b / a).toFixed(2)}`);
}
