// The live console's detail view shows the ledger's history: `meter console` in a real terminal (tmux
// at 160x45) over a SQLite ledger file and over a PostgreSQL ledger, each holding a machine's last
// hours with a gap. Enter on the machine shows its charts, its coverage of the period with the gap
// listed, and its cost per day, all read from the ledger (on the console's ledger thread); [ and ]
// switch the range. Nothing is on the topic: what is shown can only have come from the ledger.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { meterArgv, repoRoot } from '../helpers/cli.js';
import { testBrokers } from '../helpers/broker.js';
import { skipWithout } from '../helpers/tools.js';
import { startPrivatePostgres, uniqueDatabase, type PrivatePostgres } from '../helpers/postgres.js';
import { openLedger } from '../../src/ledger/index.js';
import { billingPeriod, loadRateCard } from '../../src/billing/index.js';
import { duration, money } from '../../src/console/format.js';
import type { Sample } from '../../src/schema/sample.js';
import { writeSamples } from '../unit/ledger/write-samples.js';
import { expectedFlatCost, GiB } from '../unit/worker/fixtures.js';

const missing = skipWithout('tmux', 'tmux') || skipWithout('pg_config', 'postgresql');
let brokers = '';
let postgres: PrivatePostgres | undefined;
const dir = mkdtempSync(join(tmpdir(), 'meter-console-history-'));
const socket = `meter-console-history-${process.pid}`;

before(async () => {
  if (missing) return;
  brokers = await testBrokers();
  postgres = await startPrivatePostgres();
  // The console reaches PostgreSQL with the password the way users give it: PGPASSWORD.
  process.env.PGPASSWORD = postgres.password;
});
after(() => {
  tmux('kill-server');
  postgres?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
// A tmux server of the test's own, without the suite's METER_* variables (see console-tmux.test.ts).
const tmuxEnv = () => Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('METER_')));
const tmux = (...args: string[]) => spawnSync('tmux', ['-L', socket, ...args], { encoding: 'utf8', env: tmuxEnv() });
const shellQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
const pad2 = (n: number) => String(n).padStart(2, '0');
/** As the detail view writes times: "MM-DD HH:MM", UTC. */
const utc = (t: number) => {
  const d = new Date(t);
  return `${pad2(d.getUTCMonth() + 1)}-${pad2(d.getUTCDate())} ${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}`;
};

const WINDOW = 30_000;
const card = loadRateCard();

/** The machine's samples: every 30 s over the last three hours of this period, with a gap. */
function history(now: number): { samples: Sample[]; gap: { start: number; end: number } } {
  const end = Math.floor(now / WINDOW) * WINDOW;
  const start = Math.max(billingPeriod(now).from, end - 3 * 3_600_000);
  const span = end - start;
  const gap = { start: start + Math.floor((span * 0.4) / WINDOW) * WINDOW, end: start + Math.floor((span * 0.55) / WINDOW) * WINDOW };
  const samples: Sample[] = [];
  for (let t = start, seq = 0; t < end; t += WINDOW, seq++) {
    if (t >= gap.start && t < gap.end) continue;
    samples.push({ v: 1, id: `hist-web-1:1:${seq}`, machine: 'hist-web-1', labels: { team: 'search' }, start: t, end: t + WINDOW, cpu: { cores: 4, busySeconds: 60 }, mem: { totalBytes: 16 * GiB, usedBytes: 4 * GiB } });
  }
  return { samples, gap };
}

async function writeLedger(target: string, samples: Sample[], now: number): Promise<void> {
  // No price version registered: the ledger is priced at the defaults, as a worker without --rates bills it.
  const ledger = await openLedger(target);
  await writeSamples(ledger, samples, { now });
  await ledger.close();
}

async function waitForScreen(session: string, what: string, ok: (text: string) => boolean, timeoutMs = 60_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const text = tmux('capture-pane', '-t', session, '-p').stdout;
    if (ok(text)) return text;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; the screen:\n${text}`);
    await sleep(250);
  }
}

async function detailShowsLedgerHistory(engine: string, ledgerArg: string, samples: Sample[], gap: { start: number; end: number }): Promise<void> {
  const session = `history-${engine}`;
  const topic = `console_history_${engine}_${process.pid}_${Date.now()}`;
  const exitFile = join(dir, `${engine}.exit`);
  const errFile = join(dir, `${engine}.err`);
  const argv = [process.execPath, ...meterArgv(['console', '--brokers', brokers, '--topic', topic, '--group', `billing_${topic}`, '--ledger', ledgerArg])];
  const command = `cd ${shellQuote(repoRoot)} && NO_COLOR=1 METER_HOME=${shellQuote(dir)} ${argv.map(shellQuote).join(' ')} 2>${shellQuote(errFile)}; echo $? > ${shellQuote(exitFile)}; sleep 60`;
  const started = tmux('new-session', '-d', '-s', session, '-x', '160', '-y', '45', command);
  assert.equal(started.status, 0, started.stderr);
  try {
    // The machine is listed from the ledger (nothing is on the topic), with its cost.
    await waitForScreen(session, 'the machine from the ledger', (text) => /^› hist-web-1 .*\$[\d.]+/m.test(text));
    tmux('send-keys', '-t', session, 'Enter');

    const coveredMs = samples.reduce((a, s) => a + (s.end - s.start), 0);
    const gapText = `${utc(gap.start)}–${utc(gap.end).slice(6)} (${duration((gap.end - gap.start) / 1000)})`;
    const screen = await waitForScreen(session, 'the detail view with the ledger history', (text) => text.includes(gapText) && /cost\/day/.test(text));
    assert.match(screen, /\[last hour\] .*by sample/);
    assert.doesNotMatch(screen, /live tail only|reading history/);
    assert.match(screen, new RegExp(`coverage [\\d.]+% of the period so far \\(${duration(coveredMs / 1000)} of `), 'the time the windows cover');
    // The last hour's CPU chart has bars: points the ledger gave (the tail has nothing).
    const chartRows = screen.split('\n').filter((r) => /^ +\d+%┤/.test(r) || /^ +┤/.test(r));
    assert.ok(chartRows.some((r) => /[▁▂▃▄▅▆▇█]/.test(r)), `bars in the charts:\n${screen}`);
    // Cost per UTC day: what the period cost grew by each day, computed here from the samples.
    let before = 0n;
    for (const day of [...new Set(samples.map((s) => new Date(s.start).toISOString().slice(0, 10)))].sort()) {
      const through = expectedFlatCost(samples.filter((s) => new Date(s.start).toISOString().slice(0, 10) <= day), 31_611n, 4_237n).total;
      const cost = Number(through - before) / 1e6;
      before = through;
      assert.ok(screen.includes(`${day.slice(5)} ${money(cost, 'USD')}`), `cost of ${day} (${money(cost, 'USD')}) on screen:\n${screen}`);
    }

    tmux('send-keys', '-t', session, ']');
    await waitForScreen(session, 'the last 24 hours by 5 minutes', (text) => /\[last 24 h\] .*by 5 min/.test(text));
    tmux('send-keys', '-t', session, ']');
    // The coverage is the period's whatever the range: the same gap once the period's history is read.
    await waitForScreen(session, 'the period by day, with the same gap', (text) => /\[period\] .*by day/.test(text) && text.includes(gapText));

    tmux('send-keys', '-t', session, 'q');
    const deadline = Date.now() + 30_000; // the console, its ledger thread and Kafka clients stopping on a loaded machine
    while (!existsSync(exitFile) && Date.now() < deadline) await sleep(200);
    assert.equal(readFileSync(exitFile, 'utf8').trim(), '0', readFileSync(errFile, 'utf8'));
  } finally {
    tmux('kill-session', '-t', session);
  }
}

test('SQLite ledger: the detail view charts the ledger’s history, its coverage with the gap, and its cost per day', { skip: missing, timeout: 120_000 }, async () => {
  const now = Date.now();
  const { samples, gap } = history(now);
  const path = join(dir, 'ledger.db');
  await writeLedger(path, samples, now);
  await detailShowsLedgerHistory('sqlite', path, samples, gap);
});

test('PostgreSQL ledger: the same detail view from the same history', { skip: missing, timeout: 120_000 }, async () => {
  const now = Date.now();
  const { samples, gap } = history(now);
  const url = postgres!.createDatabase(uniqueDatabase('console_history'));
  await writeLedger(url, samples, now);
  await detailShowsLedgerHistory('postgres', url, samples, gap);
});
