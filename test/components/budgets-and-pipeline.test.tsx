// The console's budget bars (cost pane) and budget count (header), and under `meter up` the header
// line for a process that died, with its log.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderConsole } from './render-console.js';
import { sampleSnapshot } from './fixtures.js';
import type { BudgetRow } from '../../src/console/snapshot.js';
import { budgetBar } from '../../src/format/index.js';

// As the snapshot has them: worst first (src/console/ledger-store.ts sorts them).
const budgets: BudgetRow[] = [
  { name: 'team=data', scope: 'team=data', budget: '100.000000', actual: '60.000000', forecast: '130.000000', forecastPercent: 130, level: 'over' },
  { name: 'team=search', scope: 'team=search', budget: '500.000000', actual: '150.000000', forecast: '450.000000', forecastPercent: 90, level: 'warn' },
  { name: 'machine=db-1', scope: 'machine=db-1', budget: '900.000000', actual: '10.000000', forecast: '30.000000', forecastPercent: 3.33, level: 'ok' },
];

test('the bar fills to the forecast with a mark at 100%, stretching to show an overrun', () => {
  assert.equal(budgetBar(50, 10, true), '#####.....');
  assert.equal(budgetBar(100, 10, true), '##########');
  assert.equal(budgetBar(150, 12, true), '########|###');
  assert.equal(budgetBar(0, 10), '··········');
});

test('the cost pane shows each budget as a bar, worst first, marking over and >80%; the header counts them', async () => {
  const r = renderConsole(sampleSnapshot(20, { budgets }), { columns: 100, rows: 30 });
  await r.press('2');
  const lines = r.lines();
  assert.match(lines[1]!, /budgets 1 over 1 >80%/);
  const start = lines.findIndex((l) => /budgets: forecast for the period/.test(l));
  assert.ok(start > 0, r.frame());
  assert.match(lines[start + 1]!, /team=data +[█·┃]{20} +130% +\$130\.00 of \$100\.00 OVER/);
  assert.match(lines[start + 2]!, /team=search +[█·┃]{20} +90% +\$450\.00 of \$500\.00 >80%/);
  assert.match(lines[start + 3]!, /machine=db-1 +[█·┃]{20} +3% +\$30\.00 of \$900\.00$/);
  assert.equal(lines.length, 29, 'the frame still fits the terminal');
  r.unmount();
});

test('without budgets the cost pane and header are as before', async () => {
  const r = renderConsole(sampleSnapshot(20), { columns: 100, rows: 30 });
  await r.press('2');
  assert.doesNotMatch(r.frame(), /budgets/);
  r.unmount();
});

test('a process of meter up that died is a header line with its log, and the frame still fits', () => {
  const pipeline = [{ name: 'worker', state: 'restarted' as const, lastExit: 'exit code 1', logFile: '/home/u/.local/share/meter/logs/worker.log' }];
  const r = renderConsole(sampleSnapshot(40, { pipeline }), { columns: 120, rows: 24 });
  const lines = r.lines();
  assert.match(lines[2]!, /⚠ worker died, restarted once \(exit code 1\), log \/home\/u\/\.local\/share\/meter\/logs\/worker\.log/);
  assert.equal(lines.length, 23);
  r.unmount();
});
