// How big the SQLite ledger gets: bytes per raw sample (the samples table and all its indexes, as
// SQLite's dbstat counts their pages), bytes per hourly rollup row, and from them the steady-state
// size of a ledger for 1,000 machines sampled every 5 s with the default retention (raw samples kept
// until their period is closed and they are 35 days + 1 day of margin behind the latest message;
// rollups kept for good). Samples go in through the ledger's own batch path, as the worker writes
// them: 1,000 machines, batches of 5,000, in time order. The old (v3) row is measured beside it,
// with the same samples, for comparison.
//
//   npm run bench:ledger-size                   # 1,000,000 samples (about 20 s)
//   npm run bench:ledger-size -- --samples 2000000 --machines 1000
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { openSqliteLedger } from '../../src/ledger/sqlite/sqlite-ledger.js';
import { MIGRATIONS } from '../../src/ledger/sqlite/schema.js';
import { BatchPreparer, type IncomingMessage } from '../../src/worker/prepare.js';
import { busyMicros } from '../../src/billing/money.js';
import type { Sample } from '../../src/schema/sample.js';

const { values } = parseArgs({ options: { samples: { type: 'string', default: '1000000' }, machines: { type: 'string', default: '1000' } } });
const N = Number(values.samples);
const MACHINES = Number(values.machines);
const BATCH = 5000;
const dir = mkdtempSync(join(tmpdir(), 'meter-ledger-size-'));
const start = Date.UTC(2026, 10, 3);

function sample(i: number): Sample {
  const m = i % MACHINES;
  const seq = Math.floor(i / MACHINES);
  const machine = `host-${String(m).padStart(4, '0')}`;
  const t = start + seq * 5000;
  return {
    v: 1,
    id: `${machine}:1764252000000:${seq}`,
    machine,
    labels: { team: `team-${m % 7}`, env: m % 3 ? 'prod' : 'dev' },
    start: t,
    end: t + 5000,
    cpu: { cores: 8, busySeconds: ((i * 7919) % 40000) / 1000 },
    mem: { totalBytes: 34359738368, usedBytes: 4294967296 + ((i * 104729) % 8589934592) },
  };
}

type Stat = { name: string; bytes: number };
const pages = (db: Database.Database): Map<string, number> =>
  new Map((db.prepare('SELECT name, SUM(pgsize) AS bytes FROM dbstat GROUP BY name').all() as Stat[]).map((r) => [r.name, r.bytes]));

function measureV4(): { perSample: number; perHourly: number; hourlyRows: number; file: number; seconds: number } {
  const path = join(dir, 'v4.db');
  const ledger = openSqliteLedger(path);
  const preparer = new BatchPreparer();
  const t0 = performance.now();
  for (let first = 0; first < N; first += BATCH) {
    const messages: IncomingMessage[] = [];
    for (let i = first; i < Math.min(N, first + BATCH); i++) {
      const s = sample(i);
      messages.push({ offset: String(i), key: Buffer.from(s.machine), value: Buffer.from(JSON.stringify(s)), timestamp: String(s.end + 200) });
    }
    const prepared = preparer.prepare(messages);
    ledger.applyBatchSync({ group: 'g', topic: 't', partition: 0, fetchedOffset: first, lastOffset: first + messages.length - 1, ...prepared, now: start + 1 });
  }
  const seconds = (performance.now() - t0) / 1000;
  ledger.db.pragma('wal_checkpoint(TRUNCATE)');
  const p = pages(ledger.db);
  // The table and every index on it (samples_id, samples_by_run_start): all of them grow per sample.
  const parts = (ledger.db.prepare("SELECT name FROM sqlite_master WHERE tbl_name = 'samples' AND type IN ('table', 'index') ORDER BY type DESC, name").all() as { name: string }[]).map((r) => r.name);
  const raw = parts.reduce((sum, name) => sum + (p.get(name) ?? 0), 0);
  const hourlyRows = (ledger.db.prepare('SELECT COUNT(*) AS n FROM usage_hourly').get() as { n: number }).n;
  const result = { perSample: raw / N, perHourly: (p.get('usage_hourly') ?? 0) / hourlyRows, hourlyRows, file: statSync(path).size, seconds };
  for (const name of parts) console.log(`    ${name.padEnd(18)} ${((p.get(name) ?? 0) / N).toFixed(1)} bytes/sample`);
  void ledger.close();
  return result;
}

/** The same samples in the v3 row (what every ledger was before): id text unique, machine, charges. */
function measureV3(): number {
  const db = new Database(join(dir, 'v3.db'));
  db.pragma('journal_mode = WAL');
  db.exec('CREATE TABLE ledger_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)');
  for (const m of MIGRATIONS.slice(0, 3)) db.exec(m.sql);
  const insert = db.prepare(`INSERT OR IGNORE INTO samples (id, machine, label_set, start_ms, end_ms, cores, cpu_busy_us, mem_used_bytes, mem_total_bytes,
    src_partition, src_offset, rate_card, cpu_micros, mem_micros) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)`);
  const batch = db.transaction((from: number) => {
    for (let i = from; i < Math.min(N, from + BATCH); i++) {
      const s = sample(i);
      insert.run(s.id, s.machine, 1 + (i % 7), s.start, s.end, s.cpu.cores, busyMicros(s.cpu.busySeconds), s.mem.usedBytes, s.mem.totalBytes, 0, i, 1, 390, 50);
    }
  });
  for (let first = 0; first < N; first += BATCH) batch(first);
  db.pragma('wal_checkpoint(TRUNCATE)');
  const p = pages(db);
  const raw = (p.get('samples') ?? 0) + (p.get('sqlite_autoindex_samples_1') ?? 0) + (p.get('samples_by_start') ?? 0);
  db.close();
  return raw / N;
}

try {
  console.log(`ledger size: ${N.toLocaleString('en-US')} samples of ${MACHINES} machines every 5 s, through the worker's batch path`);
  const v4 = measureV4();
  const v3 = measureV3();
  const perDay = 1000 * 86_400 / 5;
  const rawDays = 36; // 35-day acceptance window + 1 day of margin; a closed period is always older (see retention.ts)
  const raw = perDay * rawDays * v4.perSample;
  const hourlyPerYear = 1000 * 24 * 366 * v4.perHourly;
  const gb = (b: number) => `${(b / 1e9).toFixed(1)} GB`;
  console.log(`  raw sample: ${v4.perSample.toFixed(1)} bytes (goal <= 100; the v3 row was ${v3.toFixed(1)}, ${(v3 / v4.perSample).toFixed(2)}x)`);
  console.log(`  hourly rollup row: ${v4.perHourly.toFixed(1)} bytes (${v4.hourlyRows} rows); file ${(v4.file / 2 ** 20).toFixed(1)} MiB; written in ${v4.seconds.toFixed(1)} s`);
  console.log(`  1,000 machines at 5 s, default retention: raw ${gb(raw)} (${rawDays} days of ${perDay.toLocaleString('en-US')} samples a day)`);
  console.log(`    + rollups ${gb(hourlyPerYear)} a year: ${gb(raw + hourlyPerYear)} after a year, ${gb(raw + 5 * hourlyPerYear)} after five (goal < 60 GB)`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
