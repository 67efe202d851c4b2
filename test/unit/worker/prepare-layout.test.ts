// The worker reads the agents' layout from the bytes (src/schema/sample-layout.ts) and remembers each
// machine's labels and id run. Whatever the messages, in whatever order, it must bill exactly what
// checkSample() + checkEventTime() accept, with the same rows (run, sequence, canonical labels,
// integer usage), and refuse the rest with checkSample's code.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { checkSample } from '../../../src/schema/sample.js';
import { checkEventTime, DEFAULT_ACCEPTANCE_WINDOW } from '../../../src/billing/acceptance.js';
import { busyMicros } from '../../../src/billing/money.js';
import { canonicalLabels, rowAt, splitId, type LedgerSample } from '../../../src/ledger/index.js';
import { BatchPreparer, type IncomingMessage } from '../../../src/worker/prepare.js';
import { messageAround } from '../../helpers/sample-messages.js';

const NOW = Date.UTC(2026, 10, 20, 12);
const BACK = DEFAULT_ACCEPTANCE_WINDOW.backMs;

/** What the preparer did before it read bytes: checkSample, then event time, then the row. */
function reference(messages: IncomingMessage[]): { rows: LedgerSample[]; rejects: [number, string][] } {
  const rows: LedgerSample[] = [];
  const rejects: [number, string][] = [];
  for (const m of messages) {
    const offset = Number(m.offset);
    const check = checkSample(m.value, m.key?.toString('utf8') ?? null, { lateLimitMs: BACK });
    if (!check.ok) {
      rejects.push([offset, check.code]);
      continue;
    }
    const s = check.sample;
    const time = checkEventTime(s, m.timestamp);
    if (!time.ok) {
      rejects.push([offset, time.code]);
      continue;
    }
    const { run, seq, whole } = splitId(s.id);
    rows.push({
      offset,
      id: whole ? run : `${run}:${seq}`,
      machine: s.machine,
      labels: canonicalLabels(s.labels),
      start: s.start,
      end: s.end,
      cores: s.cpu.cores,
      cpuBusyUs: busyMicros(s.cpu.busySeconds),
      memUsedBytes: s.mem.usedBytes,
      memTotalBytes: s.mem.totalBytes,
    });
  }
  return { rows, rejects };
}

const timestamp = fc.oneof({ weight: 8, arbitrary: fc.constant(String(NOW)) }, { weight: 1, arbitrary: fc.constantFrom('-1', '', 'x', String(NOW - BACK - 7_200_000), String(NOW - 3_600_000)) });

test('bytes read in the agents layout give the same rows and rejects as checkSample, over generated and mutated messages', () => {
  const preparer = new BatchPreparer(); // one preparer throughout: its memory of machines carries over
  let accepted = 0;
  fc.assert(
    fc.property(fc.array(fc.tuple(messageAround(NOW, BACK), timestamp), { minLength: 1, maxLength: 40 }), (generated) => {
      const messages: IncomingMessage[] = generated.map(([m, ts], i) => ({ offset: String(i), key: m.key, value: m.value, timestamp: ts }));
      const want = reference(messages);
      const got = preparer.prepare(messages);
      const rows = got.samples.runs.map((_, i) => rowAt(got.samples, i));
      assert.deepStrictEqual(rows, want.rows);
      assert.deepStrictEqual(
        got.rejects.map((r) => [r.offset, r.code]),
        want.rejects,
      );
      accepted += rows.length;
    }),
    { numRuns: 1500 },
  );
  assert.ok(accepted > 3000, `${accepted} accepted: the valid path is exercised`);
  assert.ok(preparer.layoutReads > 1000, `${preparer.layoutReads} read from the agents' layout`);
  assert.ok(preparer.checkedReads > 3000, `${preparer.checkedReads} went through checkSample`);
});

test("a machine's labels and id run are remembered, and a change in either is seen at once", () => {
  const preparer = new BatchPreparer();
  const message = (offset: number, id: string, labels: Record<string, string>): IncomingMessage => {
    const start = NOW - 60_000 + offset * 5000;
    const sample = { v: 1, id, machine: 'm', labels, start, end: start + 5000, cpu: { cores: 2, busySeconds: 1.25 }, mem: { totalBytes: 100, usedBytes: 40 } };
    return { offset: String(offset), key: Buffer.from('m'), value: Buffer.from(JSON.stringify(sample)), timestamp: String(NOW) };
  };
  const { samples } = preparer.prepare([
    message(0, 'm:1:0', { b: '2', a: '1' }),
    message(1, 'm:1:1', { b: '2', a: '1' }),
    message(2, 'm:2:0', { b: '2', a: '1' }),
    message(3, 'm:2:1', { b: '3', a: '1' }),
    message(4, 'm-2', { b: '3', a: '1' }),
  ]);
  assert.deepEqual(samples.runs, ['m:1', 'm:1', 'm:2', 'm:2', 'm-2']);
  assert.deepEqual(samples.labels, ['{"a":"1","b":"2"}', '{"a":"1","b":"2"}', '{"a":"1","b":"2"}', '{"a":"1","b":"3"}', '{"a":"1","b":"3"}']);
  assert.deepEqual([0, 1, 2, 3, 4].map((i) => rowAt(samples, i).id), ['m:1:0', 'm:1:1', 'm:2:0', 'm:2:1', 'm-2']);
  assert.equal(samples.runs[0], samples.runs[1]);
  assert.equal(preparer.layoutReads, 5);
  assert.equal(preparer.checkedReads, 0);
});
