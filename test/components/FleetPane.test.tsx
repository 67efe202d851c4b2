import { test } from 'node:test';
import assert from 'node:assert/strict';
import { render } from 'ink-testing-library';
import { FleetPane } from '../../components/FleetPane.js';
import { NOW, sampleSnapshot, machine } from './fixtures.js';

const rows = sampleSnapshot(12).machines;

test('one row per machine with sparkline, CPU, memory, cost per hour, period cost and last seen', () => {
  const { lastFrame } = render(<FleetPane rows={rows} currency="USD" now={NOW} width={100} height={14} selected={0} scroll={0} />);
  const out = lastFrame()!.split('\n');
  assert.match(out[0]!, /MACHINE +CPU TREND +CPU +MEM +COST\/H +PERIOD +SEEN/);
  const first = out[1]!;
  assert.match(first, /^› sim-web-01 /);
  assert.match(first, /[▁▂▃▄▅▆▇█]{10,}/, 'a sparkline');
  assert.match(first, / 92% +30% +\$0\.010 +\$1\.00 +2s ago/);
  assert.equal(out.length, 13, 'header and 12 rows');
});

test('stale machines say so', () => {
  const { lastFrame } = render(<FleetPane rows={rows} currency="USD" now={NOW} width={100} height={14} selected={0} scroll={0} />);
  const staleLine = lastFrame()!.split('\n').find((l) => l.includes('sim-api-02'))!;
  assert.match(staleLine, /1m ago stale/);
  const fresh = lastFrame()!.split('\n').find((l) => l.includes('sim-web-01'))!;
  assert.ok(!fresh.includes('stale'));
});

test('only the rows that fit are rendered, from the scroll offset', () => {
  const { lastFrame } = render(<FleetPane rows={rows} currency="USD" now={NOW} width={100} height={5} selected={6} scroll={5} />);
  const out = lastFrame()!.split('\n');
  assert.equal(out.length, 5);
  assert.match(out[1]!, /sim-db-06/);
  assert.match(out[2]!, /^› sim-web-07/);
  assert.match(out[4]!, /sim-db-09/);
});

test('narrow terminals: labels go first, names are cut with an ellipsis, nothing wraps', () => {
  const long = [machine(0, { machine: 'a-very-long-machine-name-in-the-fleet-0001' }), ...rows.slice(1)];
  for (const width of [100, 80, 60]) {
    const { lastFrame } = render(<FleetPane rows={long} currency="USD" now={NOW} width={width} height={14} selected={0} scroll={0} />);
    const out = lastFrame()!.split('\n');
    assert.equal(out.length, 13, `no wrapped lines at ${width}`);
    for (const line of out) assert.ok(line.length <= width, `line wider than ${width}: "${line}"`);
    if (width < 100) assert.ok(!lastFrame()!.includes('LABELS'), `labels dropped at ${width}`);
  }
  const { lastFrame } = render(<FleetPane rows={long} currency="USD" now={NOW} width={60} height={3} selected={0} scroll={0} />);
  assert.match(lastFrame()!, /› a-very-long-mac… /);
  assert.match(lastFrame()!, /stale/);
});

test('an empty fleet says what it is waiting for', () => {
  const { lastFrame } = render(<FleetPane rows={[]} currency="USD" now={NOW} width={80} height={5} selected={0} scroll={0} />);
  assert.match(lastFrame()!, /no machines yet/);
});

test('wide characters and emoji in names and labels keep every column aligned', async () => {
  const { textWidth } = await import('../../src/format/index.js');
  const odd = [
    machine(0, { machine: '東京-web-01', labels: { team: '検索' } }),
    machine(1, { machine: 'db-🚀-02', labels: { team: '🚀 rockets' } }),
    machine(2, { machine: 'plain-03', labels: { team: 'search' } }),
  ];
  const { lastFrame } = render(<FleetPane rows={odd} currency="USD" now={NOW} width={120} height={6} selected={-1} scroll={0} active={false} />);
  const lines = lastFrame()!.split('\n');
  const at = (line: string, text: string) => textWidth(line.slice(0, line.indexOf(text)));
  const rows = lines.slice(1);
  assert.equal(rows.length, 3);
  for (const column of ['$0.0', ' ago']) {
    const starts = rows.map((l) => at(l, column));
    assert.equal(new Set(starts).size, 1, `${column} starts in one column:\n${lines.join('\n')}`);
  }
  assert.equal(at(rows[0]!, 'team='), at(rows[2]!, 'team='), 'labels start in one column');
  for (const l of lines) assert.ok(textWidth(l) <= 120, l);
});
