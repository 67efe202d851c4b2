// The SQLite ledger's feed of accepted samples (the console's live source): rows in commit order,
// the start found by ingestion time, chunks, and values as the worker wrote them. Against a real
// ledger file (WAL) written by the worker's own apply, read from a second, read-only connection.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openSqliteLedger } from '../../../src/ledger/sqlite/sqlite-ledger.js';
import { SqliteSampleFeed, type FedSample } from '../../../src/ledger/sqlite/sample-feed.js';
import { seededRandom } from '../../../src/agent/fleet-simulator.js';
import type { Sample } from '../../../src/schema/sample.js';
import { GiB, makeSample, tempLedgerPath } from '../worker/fixtures.js';
import { writeSamples } from './write-samples.js';

const T0 = Date.UTC(2026, 10, 2, 12);

function readAll(feed: SqliteSampleFeed, after: number, limit = 1000): { samples: FedSample[]; last: number } {
  const samples: FedSample[] = [];
  let last = after;
  for (;;) {
    const read = feed.readAfter(last, limit, (s) => samples.push({ ...s }));
    last = read.last;
    if (read.count < limit) return { samples, last };
  }
}

/** The fields a fed sample has, from a Sample v1. */
const fed = (s: Sample): FedSample => ({
  machine: s.machine,
  labels: s.labels,
  start: s.start,
  end: s.end,
  cores: s.cpu.cores,
  busySeconds: s.cpu.busySeconds,
  totalBytes: s.mem.totalBytes,
  usedBytes: s.mem.usedBytes,
});

test('the feed reads accepted samples in commit order with their machine, labels and usage, from where ingestion time says', async () => {
  const path = tempLedgerPath();
  const ledger = openSqliteLedger(path);
  const batch = (i: number) =>
    ['web-1', 'db-1'].map((machine, m) =>
      makeSample({ machine, labels: { team: m === 0 ? 'web' : 'data' }, start: T0 + i * 5000, seq: i, cores: 4 + m, busySeconds: 1.25 + i, usedBytes: (i + 1) * GiB, totalBytes: 16 * GiB }),
    );
  // Three batches ingested 10 s apart.
  for (let i = 0; i < 3; i++) await writeSamples(ledger, batch(i), { now: T0 + 10_000 * (i + 1) });
  const feed = SqliteSampleFeed.open(path);
  try {
    const everything = readAll(feed, feed.rowBefore(0));
    assert.deepEqual(everything.samples, [0, 1, 2].flatMap((i) => batch(i).map(fed)));
    assert.equal(everything.last, feed.lastRow());
    // From the second batch's ingestion on.
    assert.deepEqual(readAll(feed, feed.rowBefore(T0 + 20_000)).samples, [1, 2].flatMap((i) => batch(i).map(fed)));
    assert.deepEqual(readAll(feed, feed.rowBefore(T0 + 15_000)).samples, [1, 2].flatMap((i) => batch(i).map(fed)));
    assert.deepEqual(readAll(feed, feed.rowBefore(T0 + 40_000)).samples, []);

    // Written after the read (by the worker's connection): read next, after the last row read.
    await writeSamples(ledger, batch(3), { now: T0 + 40_000 });
    const next = readAll(feed, everything.last, 1);
    assert.deepEqual(next.samples, batch(3).map(fed));
    // A duplicate the ledger refused adds no row.
    await writeSamples(ledger, batch(3), { now: T0 + 50_000 });
    assert.deepEqual(readAll(feed, next.last).samples, []);
  } finally {
    feed.close();
    await ledger.close();
  }
});

test('an empty ledger has no rows to read, and its first samples are read from the start', async () => {
  const path = tempLedgerPath();
  const ledger = openSqliteLedger(path);
  const feed = SqliteSampleFeed.open(path);
  try {
    assert.equal(feed.lastRow(), 0);
    const start = feed.rowBefore(T0);
    assert.deepEqual(readAll(feed, start).samples, []);
    const first = [makeSample({ machine: 'a', start: T0 }), makeSample({ machine: 'b', start: T0 })];
    await writeSamples(ledger, first, { now: T0 + 6000 });
    assert.deepEqual(readAll(feed, start).samples, first.map(fed));
  } finally {
    feed.close();
    await ledger.close();
  }
});

test('the start by ingestion time is the first row ingested at or after it, for any time (against a scan)', async () => {
  const path = tempLedgerPath();
  const ledger = openSqliteLedger(path);
  const rnd = seededRandom(7);
  const ingestedAt: number[] = [];
  let now = T0;
  for (let b = 0; b < 40; b++) {
    // Batches of 1-30 samples, some ingested at the same instant as the batch before.
    now += rnd() < 0.3 ? 0 : 1 + Math.floor(rnd() * 4000);
    const size = 1 + Math.floor(rnd() * 30);
    const samples = Array.from({ length: size }, (_, i) => makeSample({ machine: `m-${i}`, start: T0 + b * 5000, seq: b }));
    await writeSamples(ledger, samples, { now });
    for (let i = 0; i < size; i++) ingestedAt.push(now);
  }
  const feed = SqliteSampleFeed.open(path);
  try {
    const rows = readAll(feed, feed.rowBefore(0)).samples.length;
    assert.equal(rows, ingestedAt.length);
    for (let k = 0; k < 200; k++) {
      const since = T0 - 1000 + Math.floor(rnd() * (now - T0 + 2000));
      const expected = ingestedAt.filter((t) => t >= since).length;
      assert.equal(readAll(feed, feed.rowBefore(since)).samples.length, expected, `since ${since - T0}`);
    }
  } finally {
    feed.close();
    await ledger.close();
  }
});
