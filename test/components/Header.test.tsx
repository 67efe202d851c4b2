import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Header } from '../../components/Header.js';
import { renderWithUi } from './render.js';
import { NOW, sampleSnapshot } from './fixtures.js';

test('the header shows the broker, topic, group, machines (stale ones), the clock, costs, lag and the tail rate', () => {
  const r = renderWithUi(<Header snapshot={sampleSnapshot(12, { tailRate: 2000 })} paused={false} width={120} />);
  const [one, two] = r.lines();
  assert.match(one!, /^meter ● connected  topic resource_usage · group billing · 12 machines \(1 stale\) +12:00:00$/);
  assert.equal(one!.length, 120, 'the clock sits at the right edge');
  assert.match(two!, /^fleet \$0\.252\/h now · period \$45\.00 · forecast \$412\.50 · lag 1,260 STALL · tail 2,000\/s$/);
});

test('a broker that went away is a RECONNECTING badge with how long; paused is said', () => {
  const snapshot = sampleSnapshot(3, { broker: { state: 'reconnecting', since: NOW - 75_000, message: 'Connection error' } });
  const r = renderWithUi(<Header snapshot={snapshot} paused={true} width={100} />);
  assert.match(r.lines()[0]!, /◌ RECONNECTING 1m15s .* PAUSED +12:00:00$/);
});

test('on a narrow terminal the header drops detail but keeps the lag status and never wraps', () => {
  const r = renderWithUi(<Header snapshot={sampleSnapshot(12)} paused={false} width={50} />);
  assert.ok(r.widest() <= 50, r.frame());
  assert.match(r.lines()[1]!, /STALL/);
  assert.equal(r.lines().length, 2);
});

test('without a ledger the cost line says so and the lag still shows', () => {
  const snapshot = sampleSnapshot(3, { ledger: { state: 'missing', path: '/x/ledger.db', polledAt: null, message: 'no ledger' } });
  const r = renderWithUi(<Header snapshot={snapshot} paused={false} width={100} />);
  assert.match(r.lines()[1]!, /^costs: ledger missing · lag 1,260 STALL/);
});

test('offsets the ledger will never bill are a warning beside the lag, kept on a narrow terminal before the tail rate', () => {
  const ledger = { state: 'ok' as const, path: '/tmp/ledger.db', polledAt: NOW, unbilledOffsets: { lost: 1200, skipped: 34 } };
  const wide = renderWithUi(<Header snapshot={sampleSnapshot(12, { tailRate: 2000, ledger })} paused={false} width={140} />);
  assert.match(wide.lines()[1]!, /lag 1,260 STALL · ⚠ 1,234 unbilled · tail 2,000\/s$/);
  const narrow = renderWithUi(<Header snapshot={sampleSnapshot(12, { tailRate: 2000, ledger })} paused={false} width={70} />);
  assert.ok(narrow.widest() <= 70, narrow.frame());
  assert.match(narrow.lines()[1]!, /STALL · ⚠ 1,234 unbilled$/);
  const none = renderWithUi(<Header snapshot={sampleSnapshot(12, { ledger: { ...ledger, unbilledOffsets: { lost: 0, skipped: 0 } } })} paused={false} width={140} />);
  assert.doesNotMatch(none.frame(), /unbilled/);
});
