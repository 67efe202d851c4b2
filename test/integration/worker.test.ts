// meter worker against a real broker: known samples (with duplicates and every kind of invalid
// message) produced with kcat, consumed into a ledger, invoiced, and compared with a total computed
// here from the raw samples; every invalid message must be on the DLQ with its reason.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testBrokers } from '../helpers/broker.js';
import { kcatReadTopic } from '../helpers/kcat.js';
import { runMeter } from '../helpers/cli.js';
import type { Sample } from '../../src/schema/sample.js';
import type { Invoice } from '../../src/billing/index.js';
import { GiB, checkFlatInvoice, makeSample } from '../unit/worker/fixtures.js';
import {
  appliedCount,
  committedOffsets,
  createTopic,
  kcatProduce,
  startWorker,
  statsOf,
  stopWorker,
  uniqueName,
  waitFor,
} from './worker-harness.js';

let brokers: string;
before(async () => {
  brokers = await testBrokers();
});

const MIN = 60_000;

test('samples, duplicates and invalid messages: the invoice matches, the DLQ says why', async () => {
  const topic = uniqueName('worker-e2e');
  const group = uniqueName('billing');
  const ledger = join(mkdtempSync(join(tmpdir(), 'meter-worker-')), 'ledger.db');
  await createTopic(brokers, topic);
  const now = Date.now();
  const base = now - 40 * MIN;

  const valid: Sample[] = [];
  const fleet = [
    { machine: 'web-1', labels: { team: 'search', env: 'prod' }, cores: 8 },
    { machine: 'web-2', labels: { team: 'search', env: 'dev' }, cores: 4 },
    { machine: 'db-1', labels: { team: 'storage', env: 'prod' }, cores: 16 },
  ];
  for (let i = 0; i < 60; i++) {
    for (const [m, spec] of fleet.entries()) {
      valid.push(
        makeSample({
          ...spec,
          seq: i,
          start: base + i * 5000,
          busySeconds: ((i * 37 + m * 11) % (spec.cores * 50)) / 10 + 0.0123,
          usedBytes: (2 + ((i + m) % 5)) * GiB + i * 4099,
          totalBytes: 64 * GiB,
        }),
      );
    }
  }
  const good = valid[0]!;
  const lateLimitMs = 24 * 3_600_000;
  const invalid: { key: string | null; value: string; code: string }[] = [
    { key: 'web-1', value: 'this is not json', code: 'not-json' },
    { key: 'web-1', value: '[1,2,3]', code: 'not-object' },
    { key: 'web-1', value: JSON.stringify({ ...good, mem: undefined }), code: 'bad-field' },
    { key: 'web-1', value: JSON.stringify({ ...good, extra: 1 }), code: 'unknown-field' },
    { key: 'web-1', value: JSON.stringify({ ...good, cpu: { cores: '8', busySeconds: 1 } }), code: 'bad-cores' },
    { key: 'web-1', value: JSON.stringify({ ...good, v: 2 }), code: 'bad-version' },
    { key: 'web-2', value: JSON.stringify(good), code: 'key-mismatch' },
    { key: null, value: JSON.stringify({ ...good, id: 'nokey' }), code: 'key-mismatch' },
    { key: 'web-1', value: JSON.stringify({ ...good, end: good.start }), code: 'bad-window' },
    { key: 'web-1', value: JSON.stringify({ ...good, start: now + 10 * MIN, end: now + 11 * MIN }), code: 'future' },
    { key: 'web-1', value: JSON.stringify({ ...good, start: now - 2 * lateLimitMs, end: now - 2 * lateLimitMs + 5000 }), code: 'too-late' },
    { key: 'web-1', value: JSON.stringify({ ...good, cpu: { cores: 0, busySeconds: 0 } }), code: 'bad-cores' },
    { key: 'web-1', value: JSON.stringify({ ...good, cpu: { cores: 4097, busySeconds: 0 } }), code: 'bad-cores' },
    { key: 'web-1', value: JSON.stringify({ ...good, cpu: { cores: 8, busySeconds: 41 } }), code: 'bad-busy' },
    { key: 'web-1', value: JSON.stringify({ ...good, cpu: { cores: 8, busySeconds: -1 } }), code: 'bad-busy' },
    { key: 'web-1', value: JSON.stringify({ ...good, mem: { totalBytes: 100, usedBytes: -1 } }), code: 'bad-memory' },
    { key: 'web-1', value: JSON.stringify({ ...good, mem: { totalBytes: 100, usedBytes: 101 } }), code: 'bad-memory' },
    { key: 'web-1', value: JSON.stringify({ ...good, mem: { totalBytes: 65 * 2 ** 40, usedBytes: 1 } }), code: 'bad-memory' },
    { key: '', value: JSON.stringify({ ...good, machine: '' }), code: 'bad-machine' },
    { key: 'x'.repeat(256), value: JSON.stringify({ ...good, machine: 'x'.repeat(256) }), code: 'bad-machine' },
    { key: 'web-1', value: JSON.stringify({ ...good, labels: { team: { nested: 'no' } } }), code: 'bad-labels' },
  ];
  // Each valid sample once, a third of them again (duplicates, an agent's replay), the bad ones between.
  const messages = [
    ...valid.slice(0, 90).map((s) => ({ key: s.machine, value: JSON.stringify(s) })),
    ...invalid.map(({ key, value }) => ({ key, value })),
    ...valid.slice(90).map((s) => ({ key: s.machine, value: JSON.stringify(s) })),
    ...valid.filter((_, i) => i % 3 === 0).map((s) => ({ key: s.machine, value: JSON.stringify(s) })),
  ];
  kcatProduce(brokers, topic, messages);

  const worker = startWorker({ brokers, topic, group, ledger, extra: ['--late-limit', '1d'] });
  try {
    await waitFor('the worker to apply every message', async () => (await appliedCount(ledger, group)) >= messages.length, 90_000, worker.output);
  } finally {
    assert.equal(await stopWorker(worker), 0, worker.output());
  }
  // Non-TTY: JSON log lines only.
  for (const line of worker.output().trim().split('\n')) assert.doesNotThrow(() => JSON.parse(line), line);
  assert.match(worker.output(), /"msg":"worker stopped"/);

  const stats = (await statsOf(ledger))!;
  assert.equal(stats.samples, valid.length, 'every valid sample once');
  assert.equal(stats.duplicates, messages.length - invalid.length - valid.length);
  assert.equal(stats.dlq.total, invalid.length, 'every invalid message counted once');
  const byCode: Record<string, number> = {};
  for (const { code } of invalid) byCode[code] = (byCode[code] ?? 0) + 1;
  assert.deepEqual(stats.dlq.byReason, byCode);

  // Kafka's committed offsets caught up with the ledger's, for lag tools.
  const committed = await committedOffsets(brokers, group, topic);
  for (const o of stats.offsets) assert.equal(committed.get(o.partition), o.nextOffset, `partition ${o.partition}`);

  // The invoice equals the cost computed here from the raw samples at the default prices.
  const from = new Date(base - 3_600_000).toISOString();
  const to = new Date(now + 3_600_000).toISOString();
  const result = runMeter(['invoice', '--ledger', ledger, '--from', from, '--to', to, '--format', 'json']);
  assert.equal(result.status, 0, result.stderr);
  const invoice = JSON.parse(result.stdout) as Invoice;
  checkFlatInvoice(invoice, valid, 31_611n, 4_237n);
  const byTeam = runMeter(['invoice', '--ledger', ledger, '--from', from, '--to', to, '--format', 'json', '--by', 'label:team']);
  const teams = JSON.parse(byTeam.stdout) as Invoice;
  assert.deepEqual(teams.lines.map((l) => l.key), ['search', 'storage']);
  // The same pools split by team: the same total, each team within a micro-unit per resource of its exact cost.
  checkFlatInvoice(teams, valid, 31_611n, 4_237n, (s) => s.labels.team!);
  assert.equal(teams.total, invoice.total);

  // Every invalid message is on the DLQ with its reason and where it came from.
  const source = kcatReadTopic(brokers, topic);
  const dlq = kcatReadTopic(brokers, `${topic}.dlq`);
  for (const bad of invalid) {
    const original = source.find((m) => m.payload === bad.value && m.key === bad.key);
    assert.ok(original, `produced: ${bad.value.slice(0, 60)}`);
    const entry = dlq.find(
      (m) => m.headers['meter-source-partition'] === String(original.partition) && m.headers['meter-source-offset'] === String(original.offset),
    );
    assert.ok(entry, `on the DLQ: ${bad.code} ${bad.value.slice(0, 60)}`);
    assert.equal(entry.payload, bad.value);
    assert.equal(entry.key, bad.key);
    assert.equal(entry.headers['meter-reason-code'], bad.code);
    assert.equal(entry.headers['meter-source-topic'], topic);
    assert.ok(entry.headers['meter-reason']!.length > 5, entry.headers['meter-reason']);
  }
});

test('a missing broker is a one-line error, not a stack trace', () => {
  const ledger = join(mkdtempSync(join(tmpdir(), 'meter-worker-')), 'ledger.db');
  const result = runMeter(['worker', '--brokers', '127.0.0.1:1', '--ledger', ledger, '--topic', uniqueName('nobroker')], { timeout: 90_000 });
  assert.equal(result.status, 1);
  const lines = result.stderr.trim().split('\n').filter((l) => l.startsWith('meter:'));
  assert.equal(lines.length, 1, result.stderr);
  assert.match(lines[0]!, /^meter: cannot reach Kafka at 127\.0\.0\.1:1: .*meter kafka start/);
  assert.doesNotMatch(result.stderr, /at .*\.ts:\d+/);
});

test('bad flags are usage errors', () => {
  const bad = [
    [['worker', '--late-limit', 'soon'], /--late-limit: "soon" is not a duration/],
    [['worker', '--late-limit', '400d'], /--late-limit: 400d is too long/],
    [['worker', '--rates', '/nonexistent/rates.yaml'], /rate card \/nonexistent\/rates\.yaml not found/],
    [['worker', '--partitions', '0'], /--partitions/],
  ] as const;
  for (const [args, pattern] of bad) {
    const result = runMeter([...args]);
    assert.equal(result.status, 2, `${args.join(' ')}: ${result.stderr}`);
    assert.match(result.stderr, pattern);
  }
});
