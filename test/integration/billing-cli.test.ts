// The billing commands as a finance user runs them, on a SQLite ledger written the way the worker
// writes it: meter rates add/list, invoice (what-if), invoice close/verify/explain, forecast, ledger
// prune; and their one-line errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { runMeter } from '../helpers/cli.js';
import { openLedger } from '../../src/ledger/index.js';
import type { Invoice } from '../../src/billing/index.js';
import { makeSample } from '../unit/worker/fixtures.js';
import { writeSamples } from '../unit/ledger/write-samples.js';

const HOUR = 3_600_000;
const NOV = Date.UTC(2026, 10, 1);
const dir = mkdtempSync(join(tmpdir(), 'meter-billing-cli-'));
const ledgerPath = join(dir, 'ledger.db');
const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};
const cheap = file('cheap.yaml', 'cpu: 1\nmemory: 0\nbudgets:\n  - label: team=a\n    amount: 100\n');
const dear = file('dear.yaml', 'cpu: 2\nmemory: 0\n');
const meter = (...args: string[]) => runMeter([...args, '--ledger', ledgerPath]);
const ok = (...args: string[]) => {
  const r = meter(...args);
  assert.equal(r.status, 0, `${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
};

test('prices into the ledger, invoices from them, a what-if that says so, then close, verify, explain and prune', async () => {
  // A ledger with usage (the worker creates it; here the same batch path): web-1 two cores, web-2 one, 48 hours.
  const ledger = await openLedger(ledgerPath);
  const samples = [];
  for (let h = 0; h < 48; h++) {
    samples.push(makeSample({ machine: 'web-1', labels: { team: 'a' }, seq: h, start: NOV + h * HOUR, windowMs: HOUR, cores: 4, busySeconds: 7200, usedBytes: 0 }));
    samples.push(makeSample({ machine: 'web-2', labels: { team: 'b' }, seq: h, start: NOV + h * HOUR, windowMs: HOUR, cores: 4, busySeconds: 3600, usedBytes: 0 }));
  }
  await writeSamples(ledger, samples);
  await ledger.close();

  assert.match(ok('rates', 'add', cheap, '--effective', '2026-10-01'), /^added price version [0-9a-f]{12}, effective 2026-10-01T00:00:00.000Z: USD cpu 1\/core-h/);
  assert.match(ok('rates', 'add', cheap, '--effective', '2026-10-01'), /^already in the ledger: price version/);
  ok('rates', 'add', dear, '--effective', '2026-11-02T00:00:00Z');
  const versions = JSON.parse(ok('rates', 'list', '--format', 'json')) as { versions: { effectiveFrom: string; budgets: number }[] };
  assert.deepEqual(versions.versions.map((v) => [v.effectiveFrom, v.budgets]), [['2026-10-01T00:00:00.000Z', 1], ['2026-11-02T00:00:00.000Z', 0]]);

  // 1 Nov at 1, 2 Nov at 2: web-1 48 + 96, web-2 24 + 48.
  const invoice = JSON.parse(ok('invoice', '--period', '2026-11', '--format', 'json', '--now', '2026-12-10')) as Invoice;
  assert.deepEqual(invoice.lines.map((l) => [l.key, l.total, l.versions.length]), [['web-1', '144.000000', 2], ['web-2', '72.000000', 2]]);
  assert.equal(invoice.whatIf, false);
  const whatIf = ok('invoice', '--period', '2026-11', '--rates', cheap, '--now', '2026-12-10');
  assert.match(whatIf, /^WHAT-IF: priced with the --rates card/m);
  assert.match(whatIf, /^\(total\) +144\.000000$/m);
  assert.equal((JSON.parse(ok('invoice', '--period', '2026-11', '--rates', cheap, '--format', 'json', '--now', '2026-12-10')) as Invoice).whatIf, true);

  // Budgets come with the price version in force (the cheap card's team=a budget of 100).
  const budgets = meter('budgets', '--now', '2026-11-01T20:00:00Z', '--format', 'json');
  assert.equal(budgets.status, 3, budgets.stderr);

  // Close: refused in the grace period, then done; shown as closed; verified; explained.
  const early = meter('invoice', 'close', '--period', '2026-11', '--now', '2026-12-02');
  assert.equal(early.status, 2);
  assert.match(early.stderr, /^meter: 2026-11 is in its grace period until 2026-12-04T00:00:00.000Z .*--force\n$/);
  assert.match(ok('invoice', 'close', '--period', '2026-11', '--now', '2026-12-05'), /^closed 2026-11: invoice #1, total 216.000000 USD \(2 line\(s\)\), amount due 216.000000, samples ingested up to 2026-12-05T00:00:00.000Z, digest [0-9a-f]{64}$/m);
  assert.match(ok('invoice', '--period', '2026-11', '--now', '2027-01-10'), /^CLOSED invoice #1 \(closed 2026-12-05\), Invoice 2026-11-01 to 2026-12-01/);
  assert.match(ok('invoice', 'verify', '--period', '2026-11'), /^2026-11 \(invoice #1\) verified: rebuilt from the ledger, digest [0-9a-f]{64} is identical$/m);
  const explain = ok('invoice', 'explain', '--period', '2026-11', '--key', 'web-1', '--now', '2027-01-10');
  assert.match(explain, /48 hour\(s\) with usage, 48 sample\(s\)/);
  assert.match(explain, /first sample web-1:1:0 \(2026-11-01T00:00:00.000Z\), last web-1:1:47/);
  assert.match(explain, /coverage of web-1: 6.67% of the period, 1 gap\(s\)\n    gap 2026-11-03T00:00:00.000Z to 2026-12-01T00:00:00.000Z/);

  // Someone edits the stored invoice in the database: verify says which lines differ, exit 1.
  const db = new Database(ledgerPath);
  const stored = JSON.parse((db.prepare("SELECT document FROM closed_invoices WHERE period = '2026-11'").get() as { document: string }).document) as Invoice;
  stored.lines[0]!.total = '1.000000';
  db.prepare("UPDATE closed_invoices SET document = ? WHERE period = '2026-11'").run(JSON.stringify(stored));
  db.close();
  const tampered = meter('invoice', 'verify', '--period', '2026-11');
  assert.equal(tampered.status, 1);
  assert.match(tampered.stdout, /^2026-11 \(invoice #1\) DIFFERS/);
  assert.match(tampered.stdout, /lines\[web-1\]\.total: stored "1\.000000", rebuilt "144\.000000"/);

  // Nothing to prune yet: the latest message is of 3 November, so only samples before 28 September (36 days earlier) could go.
  assert.match(ok('ledger', 'prune'), /^pruned 0 raw sample\(s\) starting before 2026-09-28T00:00:00.000Z; 96 kept \(rollups and closed invoices stay\)/);
  const forecast = JSON.parse(ok('forecast', '--backtest', '--days', '1', '--horizons', '1', '--format', 'json', '--now', '2026-11-03')) as { hours: number };
  assert.equal(forecast.hours, 48);
});

test('the new commands refuse bad input in one line', () => {
  const cases: [string[], number, RegExp][] = [
    [['rates', 'add', cheap], 2, /^meter: meter rates add needs --effective TIME/],
    [['rates', 'add', cheap, '--effective', '2026-02-31'], 2, /^meter: --effective: "2026-02-31" is not a date: February 2026 has 28 days/],
    [['rates', 'add', join(dir, 'nope.yaml'), '--effective', '2026-10-01'], 2, /^meter: rate card .*nope\.yaml not found/],
    [['invoice', 'close'], 2, /^meter: meter invoice close needs --period YYYY-MM/],
    [['invoice', 'verify', '--period', '2026-10'], 2, /^meter: 2026-10 is not closed; only a closed period can be verified/],
    [['invoice', 'explain', '--period', '2026-11'], 2, /^meter: meter invoice explain needs --key/],
    [['invoice', '--from', '2026-11-31'], 2, /^meter: --from: "2026-11-31" is not a date: November 2026 has 30 days/],
    [['invoice', 'close', '--period', '2026-11', '--rates', cheap], 2, /^meter: meter invoice close uses the ledger's prices; leave out --rates/],
    [['forecast', '--horizons', 'x'], 2, /^meter: --horizons: "x" is not a list of days/],
    [['budgets', '--budgets', dear, '--now', '2026-11-02'], 2, /^meter: no budgets in rate card .*dear\.yaml/],
  ];
  for (const [args, status, pattern] of cases) {
    const r = meter(...args);
    assert.equal(r.status, status, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stderr.trimEnd().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, pattern);
  }
});
