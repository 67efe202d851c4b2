// `meter invoice` as a user runs it: from a real ledger file (written the way the worker writes it),
// as a table, CSV and JSON, with one-line errors for what is wrong.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runMeter } from '../helpers/cli.js';
import { openLedger } from '../../src/ledger/index.js';
import { computeInvoice, loadRateCard, type Invoice } from '../../src/billing/index.js';
import { writeSamples } from '../unit/ledger/write-samples.js';
import type { Sample } from '../../src/schema/sample.js';
import { GiB, expectedFlatCost, makeSample, message, micros } from '../unit/worker/fixtures.js';

const HOUR = 3_600_000;
const NOV = Date.UTC(2026, 10, 1);
const DEC = Date.UTC(2026, 11, 1);
const dir = mkdtempSync(join(tmpdir(), 'meter-invoice-'));

/** November 2026: four machines, two teams, a sample every 10 minutes from the 2nd to the 20th. */
async function writeLedger(): Promise<{ path: string; samples: Sample[] }> {
  const path = join(dir, 'ledger.db');
  const samples: Sample[] = [];
  const fleet = [
    { machine: 'web-1', labels: { team: 'search', env: 'prod' }, cores: 8 },
    { machine: 'web-2', labels: { team: 'search', env: 'dev' }, cores: 8 },
    { machine: 'db-primary-with-a-rather-long-name-1', labels: { team: 'storage', env: 'prod' }, cores: 32 },
    { machine: 'ci-7', labels: {} as Record<string, string>, cores: 16 },
  ];
  for (let t = NOV + 24 * HOUR; t < NOV + 20 * 24 * HOUR; t += 10 * 60_000) {
    for (const [i, m] of fleet.entries()) {
      samples.push(
        makeSample({ ...m, start: t, windowMs: 10 * 60_000, busySeconds: ((t / 1000 + i * 7) % (m.cores * 600)) / 3, usedBytes: (3 + i) * GiB + (t % 9973), totalBytes: 128 * GiB }),
      );
    }
  }
  const ledger = await openLedger(path);
  const card = loadRateCard();
  void card;
  await writeSamples(ledger, samples);
  await ledger.close();
  return { path, samples };
}

const { path: ledger, samples } = await writeLedger();

test('a closed month as JSON: the DESIGN.md shape, totals equal to the raw samples', async () => {
  // --now: the machine's clock may be in November 2026, and a closed month has no forecast.
  const result = runMeter(['invoice', '--ledger', ledger, '--period', '2026-11', '--format', 'json', '--now', '2026-12-15']);
  assert.equal(result.status, 0, result.stderr);
  const invoice = JSON.parse(result.stdout) as Invoice;
  // DESIGN.md's shape first, then the fields added on purpose (see the README's contract changes).
  assert.deepEqual(Object.keys(invoice), [
    'currency', 'from', 'to', 'lines', 'total', 'whatIf', 'versions', 'accounts', 'adjustments', 'adjustmentsTotal', 'amountDue', 'closed', 'digest', 'unbilledOffsets',
  ]);
  assert.deepEqual((invoice as unknown as { unbilledOffsets: unknown }).unbilledOffsets, { lost: 0, skipped: 0 });
  assert.deepEqual(Object.keys(invoice.lines[0]!), ['key', 'cpuCoreHours', 'memGiBHours', 'cpuCost', 'memCost', 'total', 'versions']);
  assert.equal(invoice.from, '2026-11-01T00:00:00.000Z');
  assert.equal(invoice.to, '2026-12-01T00:00:00.000Z');
  for (const line of invoice.lines) {
    assert.match(line.total, /^\d+\.\d{6}$/);
    // Each line is its exact share of the fleet's pools, within a micro-unit per resource.
    const d = micros(line.total) - expectedFlatCost(samples.filter((s) => s.machine === line.key), 31_611n, 4_237n).total;
    assert.ok(d >= -2n && d <= 2n, `${line.key}: ${d}`);
  }
  const all = expectedFlatCost(samples, 31_611n, 4_237n);
  assert.equal(micros(invoice.total), all.cpu + all.mem);
  // The same ledger, the same invoice, to the last digit.
  assert.equal(runMeter(['invoice', '--ledger', ledger, '--period', '2026-11', '--format', 'json', '--now', '2027-01-01']).stdout, result.stdout);
});

test('the table is aligned and fits 80 columns; an open period shows a forecast', async () => {
  const result = runMeter(['invoice', '--ledger', ledger, '--period', '2026-11', '--now', '2026-11-20T12:00:00Z']);
  assert.equal(result.status, 0, result.stderr);
  const lines = result.stdout.trimEnd().split('\n');
  for (const line of lines) assert.ok(line.length <= 80, `${line.length}: ${line}`);
  assert.match(result.stdout, /^MACHINE +CORE-H +GIB-H +CPU +MEMORY +TOTAL +FORECAST$/m);
  assert.match(result.stdout, /^db-primary-with-a-r\S*… /m, 'long names are cut');
  const json = JSON.parse(runMeter(['invoice', '--ledger', ledger, '--period', '2026-11', '--now', '2026-11-20T12:00:00Z', '--format', 'json']).stdout) as Invoice;
  assert.ok(json.forecast !== undefined);
  // Nothing after the 20th: the forecast is the run-rate of the last 24 h carried to the month's end.
  assert.ok(micros(json.forecast!) > micros(json.total));
  const header = lines.find((l) => l.startsWith('MACHINE'))!;
  const totalRow = lines.find((l) => l.startsWith('(total)'))!;
  assert.equal(totalRow.length, header.length, 'totals line up under TOTAL and FORECAST');
});

test('by label as CSV, with a rate card', async () => {
  const rates = join(dir, 'rates.yaml');
  writeFileSync(rates, 'currency: EUR\ncpu: 0.05\nplans:\n  - name: prod\n    match: { labels: { env: prod } }\n    cpu: 0.04\n');
  const result = runMeter(['invoice', '--ledger', ledger, '--period', '2026-11', '--by', 'label:team', '--format', 'csv', '--rates', rates, '--now', '2026-12-15']);
  assert.equal(result.status, 0, result.stderr);
  const rows = result.stdout.trimEnd().split('\r\n').map((r) => r.split(','));
  assert.deepEqual(rows[0], ['key', 'cpuCoreHours', 'memGiBHours', 'cpuCost', 'memCost', 'total', 'currency']);
  assert.deepEqual(rows.slice(1).map((r) => r[0]), ['(none)', 'search', 'storage', '(total)']);
  const ledgerHandle = await openLedger(ledger, { readonly: true });
  const expected = await computeInvoice(ledgerHandle, { from: NOV, to: DEC, by: { label: 'team' }, whatIf: loadRateCard(rates), now: DEC + 1 });
  await ledgerHandle.close();
  assert.equal(rows.at(-1)![5], expected.total);
  assert.equal(rows[1]![6], 'EUR');
  // Plans: web-1 (prod) at 0.04, web-2 (dev) at 0.05 per core-hour; one line, rounded once.
  const search = samples.filter((s) => s.labels.team === 'search');
  const busy = (list: Sample[]) => list.reduce((a, s) => a + BigInt(Math.round(s.cpu.busySeconds * 1e6)), 0n);
  const prod = busy(search.filter((s) => s.labels.env === 'prod'));
  const dev = busy(search.filter((s) => s.labels.env === 'dev'));
  const cpu = (prod * 40_000n + dev * 50_000n) * 2n + 3_600_000_000n;
  const d = micros(rows[2]![3]!) - cpu / 7_200_000_000n;
  assert.ok(d >= -2n && d <= 2n, `search cpu ${rows[2]![3]} is its share of the two plans' pools`);
  assert.match(result.stderr, /what-if: priced with the --rates card/);
});

test('errors are one line, with what to do', async () => {
  const cases: [string[], number, RegExp][] = [
    [['invoice', '--ledger', join(dir, 'missing.db')], 1, /^meter: ledger .*missing\.db not found; run `meter worker` first or pass --ledger$/],
    [['invoice', '--ledger', ledger, '--by', 'team'], 2, /^meter: --by: "team" is not machine or label:KEY/],
    [['invoice', '--ledger', ledger, '--period', '2026-13'], 2, /^meter: --period: "2026-13" has no month 13; give YYYY-MM/],
    [['invoice', '--ledger', ledger, '--from', 'yesterday'], 2, /^meter: --from: "yesterday" is not an ISO date/],
    [['invoice', '--ledger', ledger, '--from', '2026-11-10', '--to', '2026-11-01'], 2, /^meter: --to must be after --from/],
    [['invoice', '--ledger', ledger, '--format', 'xml'], 2, /^meter: --format: "xml" is not table, csv or json$/],
    [['invoice', '--ledger', ledger, '--rates', join(dir, 'nope.yaml')], 2, /^meter: rate card .*nope\.yaml not found/],
  ];
  const junk = join(dir, 'junk.db');
  writeFileSync(junk, 'not a database, not at all, '.repeat(40));
  cases.push([['invoice', '--ledger', junk], 1, /^meter: ledger .*junk\.db is not a meter ledger/]);
  const badRates = join(dir, 'bad.yaml');
  writeFileSync(badRates, 'cpu:\n  tiers:\n    - upTo: 10\n      price: 1\n');
  cases.push([['invoice', '--ledger', ledger, '--rates', badRates], 2, /^meter: rate card .*bad\.yaml: cpu\.tiers\[0\]\.upTo: the last tier must have no upTo/]);
  for (const [args, status, pattern] of cases) {
    const result = runMeter(args);
    assert.equal(result.status, status, `${args.join(' ')}: ${result.stderr}`);
    assert.equal(result.stderr.trimEnd().split('\n').length, 1, result.stderr);
    assert.match(result.stderr.trimEnd(), pattern);
    assert.equal(result.stdout, '');
  }
});
