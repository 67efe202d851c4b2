// The console's live source from a SQLite ledger (src/console/ledger-tail.ts): what the workers
// accepted becomes each machine's trace, from a few intervals back and then as it commits; a ledger
// that is not there yet, or is made again under the same path, is read once it is.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { openSqliteLedger } from '../../../src/ledger/sqlite/sqlite-ledger.js';
import { LedgerTail, ROWS_PER_TURN } from '../../../src/console/ledger-tail.js';
import { GiB, makeSample, tempLedgerPath } from '../worker/fixtures.js';
import { writeSamples } from '../ledger/write-samples.js';

const T0 = Date.UTC(2026, 10, 2, 12);

async function until(what: string, check: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const machineSamples = (machine: string, from: number, count: number, cores = 4) =>
  Array.from({ length: count }, (_, i) => makeSample({ machine, start: from + i * 5000, seq: (from - T0) / 5000 + i, cores, busySeconds: (i + 1) * 2, usedBytes: (i + 1) * GiB, totalBytes: 8 * GiB }));

test('a ledger tail starts a few intervals back, then adds what the workers commit, as traces', async () => {
  const path = tempLedgerPath();
  const ledger = openSqliteLedger(path);
  // Ingested long ago (not read), then within the backfill (read at start).
  await writeSamples(ledger, machineSamples('old', T0 - 600_000, 2), { now: T0 - 580_000 });
  await writeSamples(ledger, [...machineSamples('web-1', T0, 3), ...machineSamples('db-1', T0, 3, 8)], { now: T0 + 15_000 });
  let now = T0 + 20_000;
  let changes = 0;
  const tail = new LedgerTail({ path, backfillMs: 20_000, pollMs: 20, maxPoints: 4, now: () => now, onChange: () => changes++ });
  try {
    await tail.start();
    assert.equal(tail.state, 'running');
    assert.ok(tail.caughtUp());
    assert.deepEqual([...tail.machines.keys()].sort(), ['db-1', 'web-1']);
    const web = tail.machines.get('web-1')!;
    assert.deepEqual(web.ends, [T0 + 5000, T0 + 10_000, T0 + 15_000]);
    // busy 2, 4, 6 s of 4 cores over 5 s; memory 1, 2, 3 GiB of 8.
    assert.deepEqual(web.cpu, [10, 20, 30]);
    assert.deepEqual(web.mem, [12.5, 25, 37.5]);
    assert.equal(tail.machines.get('db-1')!.cores, 8);
    assert.deepEqual([...tail.drainChanged()].sort(), ['db-1', 'web-1']);
    assert.equal(tail.received, 6);
    assert.ok(changes > 0);

    // Committed later: read at the next poll, the trace kept at maxPoints.
    now += 10_000;
    await writeSamples(ledger, machineSamples('web-1', T0 + 15_000, 2), { now });
    await until('the new samples', () => tail.received === 8);
    assert.deepEqual(web.ends, [T0 + 10_000, T0 + 15_000, T0 + 20_000, T0 + 25_000]);
    assert.deepEqual([...tail.drainChanged()], ['web-1']);
  } finally {
    await tail.stop();
    await ledger.close();
  }
});

test('a burst bigger than a turn of the event loop is read whole in one poll', async () => {
  const path = tempLedgerPath();
  const ledger = openSqliteLedger(path);
  const machines = Math.ceil((ROWS_PER_TURN * 2.5) / 2);
  const burst = Array.from({ length: machines }, (_, m) => machineSamples(`m-${m}`, T0, 2)).flat();
  await writeSamples(ledger, burst, { now: T0 + 10_000 });
  const tail = new LedgerTail({ path, backfillMs: 60_000, pollMs: 20, maxPoints: 24, now: () => T0 + 12_000 });
  try {
    await tail.start();
    assert.equal(tail.received, burst.length);
    assert.equal(tail.machines.size, machines);
    assert.equal(tail.changedCount, machines);
    assert.ok(tail.caughtUp());
  } finally {
    await tail.stop();
    await ledger.close();
  }
});

test('a ledger that is not there yet is read once a worker makes it, and one made again under its path is read afresh', async () => {
  const path = tempLedgerPath();
  const tail = new LedgerTail({ path, backfillMs: 60_000, pollMs: 20, maxPoints: 24, now: () => T0 + 20_000 });
  try {
    await tail.start();
    // Nothing to wait for: --once reports what it has (the ledger's own state says why).
    assert.ok(tail.caughtUp());
    assert.notEqual(tail.state, 'running');
    assert.equal(tail.machines.size, 0);

    let ledger = openSqliteLedger(path);
    await writeSamples(ledger, machineSamples('first', T0, 2), { now: T0 + 10_000 });
    await until('the first ledger', () => tail.machines.has('first'));
    assert.equal(tail.state, 'running');
    await ledger.close();

    // Removed and made again (a worker started over): its rows are read from its own start.
    rmSync(path);
    rmSync(`${path}-wal`, { force: true });
    rmSync(`${path}-shm`, { force: true });
    ledger = openSqliteLedger(path);
    await writeSamples(ledger, machineSamples('second', T0, 1), { now: T0 + 10_000 });
    await until('the second ledger', () => tail.machines.has('second'));
    await ledger.close();
  } finally {
    await tail.stop();
  }
});
