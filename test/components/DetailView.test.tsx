import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DetailView, detailChartColumns } from '../../components/DetailView.js';
import { renderWithUi } from './render.js';
import { NOW, history, machine } from './fixtures.js';
import { textWidth } from '../../src/format/index.js';

const row = machine(4);

test('charts fill the width: the scale, then one column per slice of the hour, and the time axis', () => {
  const r = renderWithUi(<DetailView name={row.machine} machine={row} history={history(row)} currency="USD" now={NOW} width={160} height={36} />);
  const lines = r.lines();
  const chart = lines.filter((l) => /^ {2}(100%|  0%| 50%)?[ ]*[┤│]/.test(l));
  assert.ok(chart.length >= 10, r.frame());
  for (const l of chart) assert.ok(textWidth(l) <= 160);
  assert.equal(detailChartColumns(160), 153);
  const axis = lines.find((l) => /11:00 .* 11:30 .* 12:00$/.test(l));
  assert.ok(axis, 'a time axis from an hour ago to now');
  assert.equal(textWidth(axis!), 160, 'the axis runs to the right edge');
  // Two minutes of samples in the last hour: only the right end of the chart has bars.
  const bottom = lines.find((l) => l.startsWith('    0%┤'))!;
  assert.match(bottom, /^ {4}0%┤ +[▁▂▃▄▅▆▇█]{4,6}$/);
});

test('the range tabs, coverage with its gaps, and cost per day (newest first, the rest counted)', () => {
  const h = history(row, { range: 'period', from: Date.UTC(2025, 10, 1), to: NOW, stepMs: 86_400_000 });
  const r = renderWithUi(<DetailView name={row.machine} machine={row} history={h} currency="USD" now={NOW} width={80} height={30} />);
  const text = r.frame();
  assert.match(text, / last hour +last 24 h +\[period\] +by day/);
  assert.match(text, /coverage 99\.9% of the period so far \(26d11h of 26d12h\) · 1 gap \(UTC\):/);
  assert.match(text, /11-27 10:00–10:30 \(30m00s\)/);
  assert.match(text, /cost\/day 11-27 \$3\.60 +11-26 \$3\.50/);
  assert.match(text, /… \d+ earlier/);
  assert.ok(r.widest() <= 80);
  assert.match(text, /11-01 .* 11-27/, 'the axis is in days');
});

test('while history loads, fails, or is only the live tail, the view says so', () => {
  const loading = renderWithUi(<DetailView name={row.machine} machine={row} history={null} currency="USD" now={NOW} width={100} height={20} />);
  assert.match(loading.frame(), /reading history…/);
  const failed = renderWithUi(<DetailView name={row.machine} machine={row} history={history(row, { state: 'error', message: 'history: connection refused' })} currency="USD" now={NOW} width={100} height={20} />);
  assert.match(failed.frame(), /history: connection refused/);
  const tail = renderWithUi(<DetailView name={row.machine} machine={row} history={history(row, { state: 'tail-only', coverage: null, costPerDay: null })} currency="USD" now={NOW} width={120} height={20} />);
  assert.match(tail.frame(), /live tail only \(no history source\)/);
  assert.ok(!tail.frame().includes('coverage'));
});

test('a machine that left the fleet view says so; a short terminal gets no charts', () => {
  assert.match(renderWithUi(<DetailView name="gone-1" machine={undefined} history={null} currency="USD" now={NOW} width={80} height={20} />).frame(), /gone-1 is no longer in the fleet view/);
  const short = renderWithUi(<DetailView name={row.machine} machine={row} history={history(row)} currency="USD" now={NOW} width={80} height={9} />);
  assert.match(short.frame(), /taller terminal for charts/);
  assert.ok(short.lines().length <= 9);
});
