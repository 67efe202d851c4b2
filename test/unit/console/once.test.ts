import { test } from 'node:test';
import assert from 'node:assert/strict';
import { collectOnce, ONCE_LAG_POLL_MS, ONCE_LAG_WINDOW_MS } from '../../../src/console/once.js';
import type { ConsoleHub } from '../../../src/console/console-hub.js';
import type { ConsoleSnapshot } from '../../../src/console/snapshot.js';

/**
 * A hub whose tail and ledger are ready at once and whose lag readings start `firstReadingMs` after
 * the start (a busy machine's slow admin connection), then come every ONCE_LAG_POLL_MS.
 */
function hubWithLateLag(firstReadingMs: number) {
  let started = 0;
  const readings = () => {
    const since = Date.now() - started - firstReadingMs;
    if (started === 0 || since < 0) return null;
    return started + firstReadingMs + Math.floor(since / ONCE_LAG_POLL_MS) * ONCE_LAG_POLL_MS;
  };
  const seen: { firstReading: number; polledAtReturn: number | null } = { firstReading: 0, polledAtReturn: null };
  const hub = {
    start: () => {
      started = Date.now();
      seen.firstReading = started + firstReadingMs;
    },
    lag: {
      get view() {
        const polledAt = readings();
        return { state: polledAt === null ? 'loading' : 'ok', polledAt };
      },
      health: { state: 'connected' },
    },
    ledger: { view: { state: 'ok' } },
    tail: { caughtUp: () => true },
    refresh: () => {
      seen.polledAtReturn = readings();
      return {} as ConsoleSnapshot;
    },
  };
  return { hub: hub as unknown as ConsoleHub, seen };
}

test('--once judges the lag over a window of readings, even when the first reading comes late', async () => {
  const { hub, seen } = hubWithLateLag(ONCE_LAG_WINDOW_MS + 100);
  const { complete } = await collectOnce(hub, 5000);
  assert.equal(complete, true);
  assert.ok(seen.polledAtReturn !== null, 'returned before any lag reading');
  // STOP and STALL need observations spanning the window: one reading alone says OK.
  assert.ok(seen.polledAtReturn - seen.firstReading >= ONCE_LAG_WINDOW_MS, `returned ${seen.polledAtReturn - seen.firstReading} ms into the lag readings`);
});

test('--once does not wait longer than the window when the lag readings start at once', async () => {
  const { hub, seen } = hubWithLateLag(0);
  const before = Date.now();
  await collectOnce(hub, 5000);
  assert.ok(seen.polledAtReturn! - seen.firstReading >= ONCE_LAG_WINDOW_MS);
  assert.ok(Date.now() - before < ONCE_LAG_WINDOW_MS + 2 * ONCE_LAG_POLL_MS + 500, `took ${Date.now() - before} ms`);
});
