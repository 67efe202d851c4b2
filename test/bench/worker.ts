// Benchmark of `meter worker`: drain N pre-filled samples from a topic into a fresh ledger, and compare
// the rate, in the same run on the same machine, with
//   (a) kcat -C draining the same topic to /dev/null (how fast Kafka hands the messages out), and
//   (b) a bare loop inserting the same rows into the same samples table (the ledger's schema, its
//       indexes included) with the same client, one
//       transaction per batch of the same size as the worker's: better-sqlite3 for a SQLite ledger;
//       for PostgreSQL, pg with a multi-row INSERT (unnest) and with COPY (pg-copy-streams).
// Goals: SQLite, the worker >= 0.9x the bare better-sqlite3 loop; PostgreSQL, >= 0.7x the faster of
// the two bare pg loops.
//
//   npm run bench:worker                       # 200,000 samples into SQLite
//   npm run bench:worker -- --n 1000000        # the full run (a few minutes on 2 cores)
//   npm run bench:worker -- --ledger postgres  # into a private PostgreSQL started for the run
//   PGPASSWORD=... npm run bench:worker -- --ledger postgres://USER@HOST:PORT/DB   # a server of yours
//                                              # (it creates and drops databases bench_*: needs CREATEDB)
//   npm run bench:worker -- --brokers host:9092 --partitions 3 --machines 1000
//   npm run bench:worker -- --rounds 6         # rounds of (b) and (c) (default 4); the ratio is their median
//
// On a machine shared with other work the load moves between (b) and (c), so a single pair is noisy:
// each round runs both (a fresh ledger and consumer group for the worker), in alternating order so a
// drift in load favours neither, and the goal is judged on the median of the rounds' ratios. (Whichever
// runs second in a round measured faster here, by up to 2x: an even number of rounds balances that.)
//
// It needs a broker (127.0.0.1:9092 or METER_TEST_BROKERS; `meter kafka start`) and kcat. The topic
// and the temporary files are removed afterwards.
import { spawn, spawnSync } from 'node:child_process';
import { createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { once } from 'node:events';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { parseArgs } from 'node:util';
import { createKafka, ensureTopic } from '../../src/kafka/client.js';
import { createLogger, silentLogger } from '../../src/log/logger.js';
import { loadRateCard } from '../../src/billing/rate-card.js';
import { openSqliteLedger } from '../../src/ledger/sqlite/sqlite-ledger.js';
import { runWorker } from '../../src/worker/run-worker.js';
import type { Sample } from '../../src/schema/sample.js';
import { benchDatabases, leanRows, pgCopyLoop, pgInsertLoop } from './worker-postgres.js';

const { values } = parseArgs({
  options: {
    n: { type: 'string', default: '200000' },
    brokers: { type: 'string', default: process.env.METER_TEST_BROKERS ?? '127.0.0.1:9092' },
    partitions: { type: 'string', default: '3' },
    machines: { type: 'string', default: '1000' },
    keep: { type: 'boolean', default: false },
    ledger: { type: 'string', default: 'sqlite' },
    rounds: { type: 'string', default: '4' },
  },
});
const N = Number(values.n);
const PARTITIONS = Number(values.partitions);
const MACHINES = Number(values.machines);
const ROUNDS = Math.max(1, Number(values.rounds));
const brokers = values.brokers!;
const log = (msg: string) => process.stderr.write(`${msg}\n`);
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

const dir = mkdtempSync(join(tmpdir(), 'meter-bench-'));
const topic = `bench-worker-${Date.now()}`;
const kafka = createKafka({ brokers: brokers.split(','), clientId: 'meter-bench' }, silentLogger);
const admin = kafka.admin();

function makeSamples(): Sample[] {
  // Fleet of MACHINES machines sampled every 5 s, ending now: the agent's real shape.
  const samples: Sample[] = [];
  const perMachine = Math.ceil(N / MACHINES);
  const end = Date.now() - 60_000;
  const begin = end - perMachine * 5000;
  for (let i = 0; i < N; i++) {
    const m = i % MACHINES;
    const seq = Math.floor(i / MACHINES);
    const start = begin + seq * 5000;
    const machine = `host-${String(m).padStart(4, '0')}`;
    samples.push({
      v: 1,
      id: `${machine}:1764252000000:${seq}`,
      machine,
      labels: { team: `team-${m % 7}`, env: m % 3 ? 'prod' : 'dev' },
      start,
      end: start + 5000,
      cpu: { cores: 8, busySeconds: ((i * 7919) % 40000) / 1000 },
      mem: { totalBytes: 34359738368, usedBytes: 4294967296 + ((i * 104729) % 8589934592) },
    });
  }
  return samples;
}

async function produce(samples: Sample[]): Promise<void> {
  const file = join(dir, 'samples.txt');
  const out = createWriteStream(file);
  for (const s of samples) {
    if (!out.write(`${s.machine}|${JSON.stringify(s)}\n`)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
  log(`  ${fmt(samples.length)} samples, ${(statSync(file).size / 2 ** 20).toFixed(0)} MiB of JSON`);
  const t = performance.now();
  const r = spawnSync('kcat', ['-P', '-b', brokers, '-t', topic, '-K', '|', '-X', 'linger.ms=100', '-X', 'batch.num.messages=10000', '-l', file], {
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`kcat -P failed: ${r.stderr}`);
  log(`  produced with kcat in ${((performance.now() - t) / 1000).toFixed(1)} s`);
}

async function kcatDrain(): Promise<number> {
  const t = performance.now();
  const child = spawn('kcat', ['-C', '-b', brokers, '-t', topic, '-o', 'beginning', '-e', '-q'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const [code] = (await once(child, 'exit')) as [number];
  if (code !== 0) throw new Error(`kcat -C failed: ${stderr}`);
  return (performance.now() - t) / 1000;
}

function sqliteInsertLoop(samples: Sample[], batchSize: number, round: number): number {
  const path = join(dir, `bare-${round}.db`);
  // The ledger's own schema (every migration), then inserts straight into its samples table.
  openSqliteLedger(path).db.close();
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('cache_size = -65536');
  const insert = db.prepare(
    `INSERT OR IGNORE INTO samples (run, seq, shape, start_ms, window_ms, cpu_busy_us, mem_used_bytes, ingest_lag_ms, adjusted_in) VALUES (?,?,?,?,?,?,?,?,?)`,
  );
  const rows = leanRows(samples);
  const insertBatch = db.transaction((from: number) => {
    for (let i = from; i < Math.min(rows.length, from + batchSize); i++) {
      const r = rows[i]!;
      insert.run(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8]);
    }
  });
  const t = performance.now();
  const cpu = process.cpuUsage();
  for (let i = 0; i < samples.length; i += batchSize) insertBatch.immediate(i);
  const seconds = (performance.now() - t) / 1000;
  referenceCpuUs = cpuMicros(cpu);
  const count = (db.prepare('SELECT COUNT(*) AS n FROM samples').get() as { n: number }).n;
  db.close();
  if (count !== samples.length) throw new Error(`the bare loop wrote ${count} rows, expected ${samples.length}`);
  return seconds;
}

async function workerDrain(ledgerPath: string, round: number): Promise<{ seconds: number; wall: number; batches: number; inserted: number; cpuUs: number }> {
  let stop!: () => void;
  const stopSignal = new Promise<string>((resolve) => (stop = () => resolve('done')));
  let applied = 0;
  let firstBatchAt = 0;
  let lastBatchAt = 0;
  let batches = 0;
  let firstBatchCpu = process.cpuUsage();
  let steadyCpuUs = 0;
  const t0 = performance.now();
  const summary = runWorker({
    connection: { brokers: brokers.split(','), clientId: 'meter-bench-worker' },
    topic,
    group: `${topic}-group-${round}`,
    ledger: ledgerPath,
    rateCard: loadRateCard(),
    partitions: PARTITIONS,
    logger: process.env.BENCH_VERBOSE ? createLogger() : silentLogger,
    stopSignal,
    onBatch: (r) => {
      const now = performance.now();
      // Time from the first batch's start: a batch takes roughly as long as the one before it.
      if (!firstBatchAt) {
        firstBatchAt = now;
        firstBatchCpu = process.cpuUsage();
      }
      lastBatchAt = now;
      steadyCpuUs = cpuMicros(firstBatchCpu);
      batches++;
      applied += r.inserted + r.duplicates + r.rejected + r.skipped;
      if (applied >= N) stop();
    },
  });
  const result = await summary;
  const firstBatchSize = N / Math.max(1, batches);
  // Steady rate: samples after the first batch over the time from the first batch to the last.
  const seconds = (lastBatchAt - firstBatchAt) / 1000;
  const scale = N / Math.max(1, N - firstBatchSize);
  return { seconds: seconds * scale, wall: (lastBatchAt - t0) / 1000, batches, inserted: result.inserted, cpuUs: steadyCpuUs * scale };
}

const cpuMicros = (since: NodeJS.CpuUsage) => {
  const used = process.cpuUsage(since);
  return used.user + used.system;
};
let referenceCpuUs = 0;

async function main(): Promise<void> {
  const engine = values.ledger === 'sqlite' ? 'sqlite' : 'postgres';
  log(`meter worker benchmark: ${fmt(N)} samples, ${MACHINES} machines, topic ${topic} (${PARTITIONS} partitions) on ${brokers}, ${engine} ledger`);
  await admin.connect();
  await ensureTopic(admin, topic, PARTITIONS, silentLogger);
  const samples = makeSamples();
  await produce(samples);

  log('(a) kcat -C to /dev/null ...');
  const kcatSeconds = await kcatDrain();
  const databases = engine === 'postgres' ? await benchDatabases(values.ledger!) : undefined;
  const median = (xs: number[]) => {
    const sorted = [...xs].sort((a, b) => a - b);
    const mid = sorted.length / 2;
    return Number.isInteger(mid) ? (sorted[mid - 1]! + sorted[mid]!) / 2 : sorted[Math.floor(mid)]!;
  };
  try {
    const ratios: number[] = [];
    let batchSize = 0;
    for (let round = 1; round <= ROUNDS; round++) {
      const worker = async () => {
        log(`round ${round}: (c) meter worker ...`);
        const result = await workerDrain(databases ? await databases.create('bench_worker') : join(dir, `ledger-${round}.db`), round);
        if (result.inserted !== N) throw new Error(`worker wrote ${result.inserted} samples, expected ${N}`);
        // The same batch size as the worker's transactions, so (b) and (c) commit equally often.
        batchSize ||= Math.max(1, Math.round(N / result.batches));
        return result;
      };
      const bare = async () => {
        const references: [string, number][] = [];
        if (databases) {
          log(`round ${round}: (b) bare pg loops: multi-row INSERT, then COPY ...`);
          references.push([`(b1) pg multi-row INSERT (batches of ${fmt(batchSize)})`, await pgInsertLoop(await databases.create('bench_insert'), samples, batchSize)]);
          references.push([`(b2) pg COPY (batches of ${fmt(batchSize)})`, await pgCopyLoop(await databases.create('bench_copy'), samples, batchSize)]);
        } else {
          log(`round ${round}: (b) bare better-sqlite3 insert loop ...`);
          references.push([`(b) better-sqlite3 inserts (batches of ${fmt(batchSize)})`, sqliteInsertLoop(samples, batchSize, round)]);
        }
        return references;
      };
      // The first round runs the worker first: it sets the batch size. Then the order alternates.
      const workerFirst = round % 2 === 1;
      const first = workerFirst ? await worker() : await bare();
      const second = workerFirst ? await bare() : await worker();
      const result = (workerFirst ? first : second) as Awaited<ReturnType<typeof worker>>;
      const references = (workerFirst ? second : first) as [string, number][];
      const kcatRate = N / kcatSeconds;
      const workerRate = N / result.seconds;
      const best = references.reduce((a, r) => (r[1] < a[1] ? r : a));
      const ratio = workerRate / (N / best[1]);
      ratios.push(ratio);
      console.log(`\nmeter worker benchmark round ${round}/${ROUNDS} (${workerFirst ? 'worker first' : 'references first'}), ${fmt(N)} samples, ${PARTITIONS} partitions, ${engine} ledger, node ${process.version}, load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
      const rows: [string, number][] = [['(a) kcat -C > /dev/null', kcatSeconds], ...references, [`(c) meter worker (${result.batches} batches)`, result.seconds]];
      for (const [name, seconds] of rows) console.log(`  ${name.padEnd(48)} ${fmt(N / seconds).padStart(10)} samples/s  (${seconds.toFixed(2)} s)`);
      console.log(`  worker wall time incl. connect and group join: ${result.wall.toFixed(2)} s`);
      // CPU time is what a loaded machine cannot take away. Per sample, over the same span as the rates:
      // the worker's threads (main and ledger; the broker's CPU is not counted), the bare loop's one.
      if (!databases) console.log(`  CPU per sample: worker ${(result.cpuUs / N).toFixed(2)} us (both threads), bare loop ${(referenceCpuUs / N).toFixed(2)} us`);
      console.log(`  worker / kcat = ${(workerRate / kcatRate).toFixed(2)}x`);
      console.log(`  worker / ${engine === 'sqlite' ? 'bare better-sqlite3 loop' : `faster bare pg loop ${best[0].slice(0, 4)}`} = ${ratio.toFixed(2)}x`);
    }
    const goal = engine === 'sqlite' ? 0.9 : 0.7;
    const m = median(ratios);
    console.log(`\nworker / ${engine === 'sqlite' ? 'bare better-sqlite3 loop' : 'faster bare pg loop'}: ${ratios.map((r) => r.toFixed(2)).join(', ')} in ${ROUNDS} round(s); median ${m.toFixed(2)}x (goal >= ${goal}x): ${m >= goal ? 'met' : 'NOT met'}`);
  } finally {
    await databases?.close();
  }
}

try {
  await main();
} finally {
  if (!values.keep) {
    await admin.deleteTopics({ topics: [topic, `${topic}.dlq`] }).catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  }
  await admin.disconnect();
}
