// Hostile input at volume: well over 100,000 generated and mutated messages (fast-check) through the
// sample validator, the worker's preparer and a real SQLite ledger. Nothing throws; every message is
// either billed or counted for the DLQ with a reason; what is billed obeys the Sample v1 contract; and
// the counts add up, batch by batch and in the ledger at the end.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { dirname } from 'node:path';
import fc from 'fast-check';
import { BatchPreparer, type ForcedReject, type IncomingMessage, type PreparedBatch } from '../../../src/worker/prepare.js';
import { checkSample, MAX_CORES, MAX_FUTURE_MS, MAX_TOTAL_BYTES, type RejectCode, type Sample } from '../../../src/schema/sample.js';
import { SampleConflictError, openLedger, rowAt, type ApplyResult } from '../../../src/ledger/index.js';
import { loadRateCard } from '../../../src/billing/index.js';
import { tempLedgerPath } from '../worker/fixtures.js';

const NOW = Date.UTC(2026, 10, 20, 12);
const LATE_LIMIT_MS = 7 * 86_400_000;
const REJECT_CODES = new Set<RejectCode>([
  'empty', 'not-json', 'not-object', 'unknown-field', 'bad-version', 'bad-field', 'bad-machine', 'key-mismatch',
  'bad-labels', 'bad-window', 'future', 'too-late', 'bad-cores', 'bad-busy', 'bad-memory', 'no-timestamp', 'id-reused',
]);

const ledgerPath = tempLedgerPath('fuzz.db');
after(() => rmSync(dirname(ledgerPath), { recursive: true, force: true }));

/** A valid sample; machines and ids come from small pools so that duplicates and replays happen. */
const validSample: fc.Arbitrary<Sample> = fc
  .record({
    machine: fc.constantFrom('web-1', 'web-2', 'db-1', 'ünïcode-☃', 'x'.repeat(255)),
    seq: fc.integer({ min: 0, max: 20_000 }),
    endAgoMs: fc.integer({ min: -MAX_FUTURE_MS, max: LATE_LIMIT_MS }),
    windowMs: fc.integer({ min: 1, max: 3_600_000 }),
    cores: fc.integer({ min: 1, max: MAX_CORES }),
    busyShare: fc.double({ min: 0, max: 1, noNaN: true }),
    totalBytes: fc.integer({ min: 0, max: MAX_TOTAL_BYTES }),
    usedShare: fc.double({ min: 0, max: 1, noNaN: true }),
    labels: fc.dictionary(fc.string({ maxLength: 8 }), fc.string({ maxLength: 12 }), { maxKeys: 3 }),
  })
  .map((r) => {
    const end = NOW - r.endAgoMs;
    const windowMs = Math.min(r.windowMs, LATE_LIMIT_MS);
    return {
      v: 1 as const,
      id: `${r.machine}:1764252000000:${r.seq}`,
      machine: r.machine,
      labels: r.labels,
      start: end - windowMs,
      end,
      cpu: { cores: r.cores, busySeconds: r.busyShare * r.cores * (windowMs / 1000) },
      mem: { totalBytes: r.totalBytes, usedBytes: Math.floor(r.usedShare * r.totalBytes) },
    };
  });

/** Values a hostile producer puts where a field should be. */
const junk = fc.oneof(
  fc.constantFrom(null, true, false, '', '0', 'NaN', -1, -0, 0.5, 1e308, -1e308, Number.MAX_SAFE_INTEGER + 2, 2 ** 63, [], {}, [1], { a: 1 }, '__proto__'),
  fc.integer(),
  fc.double(),
  fc.string({ maxLength: 20 }),
  fc.jsonValue({ maxDepth: 2 }),
);
const fieldPaths = ['v', 'id', 'machine', 'labels', 'start', 'end', 'cpu', 'mem', 'cpu.cores', 'cpu.busySeconds', 'mem.totalBytes', 'mem.usedBytes', 'labels.team'];

type Mutation = (sample: Record<string, unknown>) => void;
// Junk is copied where it is put: the constant objects ({}, [1]...) are shared by every run, and a later
// mutation writing into one would leave it changed (even circular) for the runs after.
const fresh = (value: unknown): unknown => (typeof value === 'object' && value !== null ? structuredClone(value) : value);
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  // A field set to junk, or removed.
  fc.tuple(fc.constantFrom(...fieldPaths), junk).map(([path, value]): Mutation => (s) => setPath(s, path, fresh(value))),
  fc.constantFrom(...fieldPaths).map((path): Mutation => (s) => setPath(s, path, undefined)),
  // A field the contract does not have, at the top or inside cpu/mem, including prototype names.
  fc.tuple(fc.constantFrom('', 'cpu.', 'mem.'), fc.constantFrom('extra', '__proto__', 'constructor', 'toString', 'v2'), junk).map(
    ([at, name, value]): Mutation => (s) => {
      const target = at ? (s[at.slice(0, -1)] as Record<string, unknown>) : s;
      if (typeof target === 'object' && target !== null) Object.defineProperty(target, name, { value: fresh(value), enumerable: true, configurable: true, writable: true });
    },
  ),
  // The window turned around, stretched past the late limit, or moved into the future.
  // (An earlier mutation may have left junk there, even an object without a prototype.)
  fc.constantFrom<Mutation>(
    (s) => ([s.start, s.end] = [s.end, s.start]),
    (s) => (s.start = (typeof s.end === 'number' ? s.end : NOW) - LATE_LIMIT_MS - 1),
    (s) => ((s.end = NOW + MAX_FUTURE_MS + 1), (s.start = NOW)),
    (s) => (s.start = s.end),
  ),
);

interface Generated {
  key: string | null;
  value: Buffer | null;
  /** What the generator meant: a sample it left valid (the validator may still find it late, etc.). */
  untouched: boolean;
}

/** A message: valid, mutated, valid with a wrong key, corrupted bytes, or arbitrary JSON/bytes. */
const generatedMessage: fc.Arbitrary<Generated> = fc.oneof(
  { weight: 4, arbitrary: validSample.map((s): Generated => ({ key: s.machine, value: Buffer.from(JSON.stringify(s)), untouched: true })) },
  {
    weight: 4,
    arbitrary: fc.tuple(validSample, fc.array(mutation, { minLength: 1, maxLength: 3 })).map(([s, ms]): Generated => {
      const copy = JSON.parse(JSON.stringify(s)) as Record<string, unknown>;
      for (const m of ms) m(copy);
      return { key: s.machine, value: Buffer.from(JSON.stringify(copy) ?? ''), untouched: false };
    }),
  },
  {
    weight: 1,
    arbitrary: fc.tuple(validSample, fc.option(fc.string({ maxLength: 10 }), { nil: null })).map(([s, key]): Generated => ({
      key,
      value: Buffer.from(JSON.stringify(s)),
      untouched: false,
    })),
  },
  {
    weight: 2,
    // Bytes of a valid sample flipped, cut short or spliced: invalid UTF-8 and broken JSON.
    arbitrary: fc.tuple(validSample, fc.nat(), fc.integer({ min: 0, max: 255 }), fc.boolean()).map(([s, at, byte, cut]): Generated => {
      const bytes = Buffer.from(JSON.stringify(s));
      const i = at % bytes.length;
      const value = cut ? bytes.subarray(0, i) : Buffer.concat([bytes.subarray(0, i), Buffer.from([byte]), bytes.subarray(i + 1)]);
      return { key: s.machine, value, untouched: false };
    }),
  },
  {
    weight: 1,
    arbitrary: fc.oneof(
      fc.jsonValue().map((j) => Buffer.from(JSON.stringify(j) ?? 'null')),
      fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b)),
      fc.constant(null),
    ).map((value): Generated => ({ key: fc.sample(fc.option(fc.string(), { nil: null }), 1)[0] ?? null, value, untouched: false })),
  },
);

function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split('.');
  let node: Record<string, unknown> = target;
  for (const part of parts.slice(0, -1)) {
    if (typeof node[part] !== 'object' || node[part] === null) node[part] = {};
    node = node[part] as Record<string, unknown>;
  }
  const last = parts.at(-1)!;
  if (value === undefined) delete node[last];
  else node[last] = value;
}

/** The contract, checked independently of the validator, on what it accepted. */
function assertContract(s: Sample): void {
  assert.equal(s.v, 1);
  assert.ok(typeof s.id === 'string' && s.id.length > 0);
  assert.ok(Number.isSafeInteger(s.start) && Number.isSafeInteger(s.end) && s.end > s.start);
  assert.ok(s.end <= NOW + MAX_FUTURE_MS && s.end >= NOW - LATE_LIMIT_MS && s.end - s.start <= LATE_LIMIT_MS);
  assert.ok(Number.isInteger(s.cpu.cores) && s.cpu.cores >= 1 && s.cpu.cores <= MAX_CORES);
  assert.ok(s.cpu.busySeconds >= 0 && s.cpu.busySeconds <= s.cpu.cores * ((s.end - s.start) / 1000) * 1.0001 + 1e-9);
  assert.ok(Number.isSafeInteger(s.mem.usedBytes) && s.mem.usedBytes >= 0 && s.mem.usedBytes <= s.mem.totalBytes && s.mem.totalBytes <= MAX_TOTAL_BYTES);
  assert.deepEqual(Object.keys(s.cpu).sort(), ['busySeconds', 'cores']);
  assert.deepEqual(Object.keys(s.mem).sort(), ['totalBytes', 'usedBytes']);
  for (const v of Object.values(s.labels)) assert.equal(typeof v, 'string');
}

test('over 100,000 generated and mutated messages: never a crash, billed or on the DLQ with a reason, counts add up', { timeout: 600_000 }, async (t) => {
  const rateCard = loadRateCard();
  void rateCard;
  const preparer = new BatchPreparer({ aheadMs: 5 * 60_000, backMs: LATE_LIMIT_MS });
  const ledger = await openLedger(ledgerPath);
  const totals = { messages: 0, inserted: 0, duplicates: 0, rejected: 0, untouchedBilled: 0, conflicts: 0 };
  const billedIds = new Set<string>();
  let nextOffset = 0;
  try {
    await fc.assert(
      fc.asyncProperty(fc.array(generatedMessage, { minLength: 1, maxLength: 700, size: 'max' }), async (batch) => {
        // Exact replays too (an agent resending its spool): a few valid messages again at the end.
        const generated = [...batch, ...batch.filter((g) => g.untouched).slice(0, 3).map((g) => ({ ...g, untouched: false }))];
        const messages: IncomingMessage[] = generated.map((g, i) => ({
          offset: String(nextOffset + i),
          key: g.key === null ? null : Buffer.from(g.key),
          value: g.value,
          timestamp: String(NOW),
        }));
        // The validator alone: a verdict for every message, and a known reason for each rejection.
        for (const m of messages) {
          const check = checkSample(m.value, m.key?.toString('utf8') ?? null, { now: NOW, lateLimitMs: LATE_LIMIT_MS });
          if (check.ok) assertContract(check.sample);
          else assert.ok(REJECT_CODES.has(check.code) && check.reason.length > 0, `${check.code}: ${check.reason}`);
        }
        // The worker's preparer and a ledger transaction, as the worker runs them.
        // An id already billed with another body is refused by the ledger; the worker then prepares the
        // batch again with those to the DLQ (id-reused), as here.
        const apply = async (forced?: Map<number, ForcedReject>): Promise<{ prepared: PreparedBatch; result: ApplyResult }> => {
          const prepared = preparer.prepare(messages, forced);
          assert.equal(prepared.samples.runs.length + prepared.rejects.length, messages.length);
          for (const r of prepared.rejects) {
            assert.ok(REJECT_CODES.has(r.code), r.code);
            assert.ok(r.reason.length > 0);
          }
          try {
            const result = await ledger.applyBatch({
              group: 'fuzz',
              topic: 'resource_usage',
              partition: 0,
              fetchedOffset: nextOffset,
              lastOffset: nextOffset + messages.length - 1,
              samples: prepared.samples,
              rejects: prepared.rejects,
              now: NOW,
            });
            return { prepared, result };
          } catch (error) {
            assert.ok(error instanceof SampleConflictError && !forced, String(error));
            totals.conflicts += error.conflicts.length;
            return apply(new Map(error.conflicts.map((c) => [c.offset, { code: 'id-reused' as const, reason: c.reason }])));
          }
        };
        const { prepared, result } = await apply();
        assert.equal(result.skipped, 0);
        assert.equal(result.inserted + result.duplicates + result.rejected, messages.length);
        assert.equal(result.nextOffset, nextOffset + messages.length);
        // Inserted are exactly the ids never billed before (within the batch, the first of each id).
        let fresh = 0;
        for (let i = 0; i < prepared.samples.runs.length; i++) {
          const id = rowAt(prepared.samples, i).id;
          if (!billedIds.has(id)) (billedIds.add(id), fresh++);
        }
        assert.equal(result.inserted, fresh);
        nextOffset += messages.length;
        totals.messages += messages.length;
        totals.inserted += result.inserted;
        totals.duplicates += result.duplicates;
        totals.rejected += result.rejected;
        totals.untouchedBilled += generated.filter((g) => g.untouched).length;
      }),
      { numRuns: 400 },
    );
    // The ledger agrees with the sums: its DLQ counts, and its offset.
    const dlq = (await ledger.dlqCounts()).reduce((n, c) => n + c.count, 0);
    assert.equal(dlq, totals.rejected);
    assert.equal(await ledger.nextOffset('fuzz', 'resource_usage', 0), totals.messages);
    assert.equal(billedIds.size, totals.inserted);
  } finally {
    await ledger.close();
  }
  t.diagnostic(`messages ${totals.messages}: billed ${totals.inserted}, duplicates ${totals.duplicates}, DLQ ${totals.rejected} (${totals.conflicts} ids seen again with another body)`);
  assert.ok(totals.messages >= 100_000, `only ${totals.messages} messages`);
  // The generators are not degenerate: plenty of each outcome.
  assert.ok(totals.inserted > 10_000 && totals.rejected > 10_000 && totals.duplicates > 100, JSON.stringify(totals));
});
