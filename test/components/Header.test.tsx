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

test("with the ledger as the live source, the rate is the ledger's accepted samples a second", () => {
  const r = renderWithUi(<Header snapshot={sampleSnapshot(12, { tailRate: 2000, liveFrom: 'ledger' })} paused={false} width={120} />);
  assert.match(r.lines()[1]!, / · lag 1,260 STALL · ledger 2,000\/s$/);
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

test("the fleet forecast shows its interval, narrower forms drop the level then the interval, and the lag status stays", () => {
  const base = sampleSnapshot(12, { tailRate: 2000 });
  const fleet = { ...base.fleet, forecastLower: '380.000000', forecastUpper: '441.250000', forecastLevel: 80 };
  const snapshot = { ...base, fleet };
  const wide = renderWithUi(<Header snapshot={snapshot} paused={false} width={140} />);
  assert.match(wide.lines()[1]!, /^fleet \$0\.252\/h now · period \$45\.00 · forecast \$412\.50 \(80% \$380\.00–\$441\.25\) · lag 1,260 STALL · tail 2,000\/s$/);
  for (const width of [100, 80, 60, 50]) {
    const r = renderWithUi(<Header snapshot={snapshot} paused={false} width={width} />);
    assert.ok(r.widest() <= width, r.frame());
    assert.equal(r.lines().length, 2, r.frame());
    assert.match(r.lines()[1]!, /lag 1,260 STALL/, `width ${width}: ${r.frame()}`);
  }
  assert.match(renderWithUi(<Header snapshot={snapshot} paused={false} width={80} />).lines()[1]!, /fcst \$412\.50 \(\$380\.00–\$441\.25\) · lag/);
  const short = { ...base, fleet: { ...base.fleet, forecastShortHistory: true } };
  assert.match(renderWithUi(<Header snapshot={short} paused={false} width={120} />).lines()[1]!, /forecast \$412\.50 \(short history\) · lag/);
});

test('prices from a --rates card are a WHAT-IF, said first on the cost line and kept on a narrow terminal', () => {
  const base = sampleSnapshot(12);
  const snapshot = { ...base, fleet: { ...base.fleet, whatIf: true } };
  const wide = renderWithUi(<Header snapshot={snapshot} paused={false} width={120} />);
  assert.match(wide.lines()[1]!, /^WHAT-IF fleet \$0\.252\/h now · period \$45\.00 · forecast \$412\.50 · lag 1,260 STALL · tail /);
  const narrow = renderWithUi(<Header snapshot={snapshot} paused={false} width={40} />);
  assert.ok(narrow.widest() <= 40, narrow.frame());
  assert.match(narrow.lines()[1]!, /^WHAT-IF .*STALL$/);
  assert.doesNotMatch(renderWithUi(<Header snapshot={base} paused={false} width={120} />).frame(), /WHAT-IF/);
});
