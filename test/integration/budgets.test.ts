// `meter budgets` as cron or CI runs it: exit codes from a real ledger file, and a webhook received by
// a local HTTP server exactly once per threshold, retried when the server first fails.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage } from 'node:http';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { spawn } from 'node:child_process';
import { meterArgv, repoRoot } from '../helpers/cli.js';
import { openLedger } from '../../src/ledger/index.js';
import { parseRateCard, type BudgetAlert } from '../../src/billing/index.js';
import { writeSamples } from '../unit/ledger/write-samples.js';
import { makeSample, message, tempLedgerPath } from '../unit/worker/fixtures.js';

const HOUR = 3_600_000;
const NOV = Date.UTC(2026, 10, 1);
const NOW = '2026-11-11T00:00:00Z'; // 10 days of history, 20 left: forecast = 3 x actual

/** Team a costs 1/hour (forecast 720), team b 0.5/hour (forecast 360). */
async function ledgerFile(): Promise<string> {
  const path = tempLedgerPath();
  const samples = Array.from({ length: 240 }, (_, i) => [
    makeSample({ machine: 'a-1', labels: { team: 'a' }, start: NOV + i * HOUR, windowMs: HOUR, cores: 2, busySeconds: 3600, usedBytes: 0 }),
    makeSample({ machine: 'b-1', labels: { team: 'b' }, start: NOV + i * HOUR, windowMs: HOUR, cores: 2, busySeconds: 1800, usedBytes: 0 }),
  ]).flat();
  const card = parseRateCard({ cpu: 1 });
  const ledger = await openLedger(path);
  void card;
  await writeSamples(ledger, samples);
  await ledger.close();
  return path;
}

const ledger = await ledgerFile();

function rates(budgets: { label: string; amount: string }[]): string {
  const path = join(dirname(ledger), `rates-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(path, `cpu: 1\nmemory: 0\nbudgets:\n${budgets.map((b) => `  - label: ${b.label}\n    amount: "${b.amount}"\n`).join('')}`);
  return path;
}

/** Runs meter asynchronously (the webhook server lives in this process). */
function meter(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, meterArgv(args), { cwd: repoRoot });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('exit', (status) => resolve({ status, stdout, stderr }));
  });
}

test('exit 0 when every forecast is within budget, also exactly at it; 3 when one is forecast to exceed', async () => {
  const within = await meter(['budgets', '--ledger', ledger, '--rates', rates([{ label: 'team=a', amount: '720' }, { label: 'team=b', amount: '1000' }]), '--now', NOW]);
  assert.equal(within.status, 0, within.stderr);
  assert.match(within.stdout, /team=a\s+240\.000000\s+720\.000000\s+720\.000000\s+100\.0%.*WARN/);
  assert.match(within.stdout, /team=b\s+120\.000000\s+360\.000000\s+1000\.000000\s+36\.0%.*ok/);

  const over = await meter(['budgets', '--ledger', ledger, '--rates', rates([{ label: 'team=a', amount: '719.999999' }]), '--now', NOW, '--format', 'json']);
  assert.equal(over.status, 3, over.stderr);
  const json = JSON.parse(over.stdout) as { period: string; budgets: { name: string; level: string; forecast: string; passed: number[] }[] };
  assert.equal(json.period, '2026-11');
  assert.deepEqual(json.budgets.map((b) => [b.name, b.level, b.forecast, b.passed]), [['team=a', 'over', '720.000000', [80, 100]]]);
});

test('clear one-line errors: no budgets, bad webhook URL, missing ledger', async () => {
  const noBudgets = await meter(['budgets', '--ledger', ledger]);
  assert.equal(noBudgets.status, 2);
  assert.match(noBudgets.stderr, /^meter: no budgets in the price version in force; pass --budgets with a rate card that has a budgets: list/);
  const badUrl = await meter(['budgets', '--ledger', ledger, '--rates', rates([{ label: 'team=a', amount: '1' }]), '--notify', 'not a url']);
  assert.equal(badUrl.status, 2);
  assert.match(badUrl.stderr, /--notify: "not a url" is not a URL/);
  const missing = await meter(['budgets', '--ledger', join(dirname(ledger), 'nope.db'), '--rates', rates([{ label: 'team=a', amount: '1' }])]);
  assert.equal(missing.status, 1);
  assert.equal(missing.stderr.trim().split('\n').length, 1);
  assert.match(missing.stderr, /nope\.db not found/);
});

test('the webhook gets each threshold once per period, retried when the server first fails', async () => {
  const received: BudgetAlert[] = [];
  let requests = 0;
  const server = createServer((req: IncomingMessage, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      requests++;
      if (requests === 1) {
        res.writeHead(503).end('busy'); // the first attempt fails
        return;
      }
      received.push(JSON.parse(body) as BudgetAlert);
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  try {
    // team a: forecast 720 of 700 passes 80% and 100%; team b: 360 of 400 passes 80%; nothing else.
    const card = rates([{ label: 'team=a', amount: '700' }, { label: 'team=b', amount: '400' }]);
    const args = ['budgets', '--ledger', ledger, '--rates', card, '--now', NOW, '--notify', url];
    const first = await meter(args);
    assert.equal(first.status, 3, first.stderr);
    assert.match(first.stderr, /webhook failed .*HTTP 503.*retry 1/);
    assert.deepEqual(
      received.map((a) => [a.budget, a.threshold, a.level, a.forecast, a.period]).sort(),
      [
        ['team=a', 100, 'over', '720.000000', '2026-11'],
        ['team=a', 80, 'over', '720.000000', '2026-11'],
        ['team=b', 80, 'warn', '360.000000', '2026-11'],
      ].sort(),
    );
    // Again in the same period: nothing new is sent.
    const second = await meter(args);
    assert.equal(second.status, 3, second.stderr);
    assert.match(second.stderr, /notified 0, already sent 3, failed 0/);
    assert.equal(received.length, 3);
    assert.equal(requests, 4);
  } finally {
    server.close();
  }
});
