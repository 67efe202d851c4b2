import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CostPane } from '../../components/CostPane.js';
import { renderWithUi } from './render.js';
import { sampleSnapshot } from './fixtures.js';
import { costRows, type CostView } from '../../src/console/snapshot.js';
import { textWidth } from '../../src/format/index.js';

const snapshot = sampleSnapshot(6);
const lines = costRows(snapshot.costs, snapshot.machines, '', { key: 'cost', reverse: false });

test('period totals biggest first, with usage, cost and share; the summary has the period and forecast', () => {
  const r = renderWithUi(<CostPane costs={snapshot.costs} lines={lines} ledger={snapshot.ledger} by="machine" width={100} height={10} selected={0} scroll={0} />);
  const out = r.lines();
  assert.match(out[0]!, /by machine · 2025-11-01 to 2025-12-01 · total \$13\.50 · forecast \$412\.50/);
  assert.match(out[1]!, /MACHINE +CORE-H +GIB-H +CPU COST +MEM COST +TOTAL +SHARE/);
  assert.match(out[2]!, /^› sim-db-06 +1\.500 +20\.0 +\$0\.047 +\$0\.085 +\$3\.50 +26%$/);
});

test('by a label with wide characters and emoji: the columns stay aligned', () => {
  const costs: CostView = {
    ...snapshot.costs!,
    by: 'label:team',
    lines: [
      { key: '東京チーム', cpuCoreHours: 1, memGiBHours: 2, cpuCost: '1.000000', memCost: '2.000000', total: '3.000000' },
      { key: '🚀 rockets', cpuCoreHours: 1, memGiBHours: 2, cpuCost: '1.000000', memCost: '2.000000', total: '3.000000' },
      { key: 'search', cpuCoreHours: 1, memGiBHours: 2, cpuCost: '1.000000', memCost: '2.000000', total: '3.000000' },
    ],
    total: '9.000000',
  };
  const r = renderWithUi(<CostPane costs={costs} lines={costs.lines} ledger={snapshot.ledger} by="label:team" width={90} height={8} selected={-1} scroll={0} active={false} />);
  const rows = r.lines().filter((l) => /\$3\.00/.test(l));
  assert.equal(rows.length, 3, r.frame());
  const ends = rows.map((l) => textWidth(l));
  assert.equal(new Set(ends).size, 1, `rows end in the same column:\n${rows.join('\n')}`);
  // The TOTAL column starts at the same terminal column in every row.
  const at = rows.map((l) => textWidth(l.slice(0, l.indexOf('$3.00'))));
  assert.equal(new Set(at).size, 1, `totals line up:\n${rows.join('\n')}`);
});

test('an unreadable ledger is one line saying why; loading says it is reading', () => {
  const missing = renderWithUi(<CostPane costs={null} lines={[]} ledger={{ state: 'missing', path: '/l.db', polledAt: null, message: 'no ledger at /l.db yet: start `meter worker`' }} by="machine" width={100} height={10} selected={0} scroll={0} />);
  assert.match(missing.frame(), /no ledger at \/l\.db yet: start `meter worker`/);
  assert.equal(missing.lines().filter((l) => l.trim()).length, 1);
  const loading = renderWithUi(<CostPane costs={null} lines={[]} ledger={{ state: 'loading', path: '/l.db', polledAt: null }} by="machine" width={100} height={10} selected={0} scroll={0} />);
  assert.match(loading.frame(), /reading the ledger \/l\.db…/);
});
