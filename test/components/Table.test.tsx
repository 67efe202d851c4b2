import { test } from 'node:test';
import assert from 'node:assert/strict';
import { render } from 'ink-testing-library';
import { Table, type TableColumn } from '../../components/Table.js';

interface Row {
  name: string;
  value: number;
}
const rows: Row[] = Array.from({ length: 50 }, (_, i) => ({ name: `machine-with-a-long-name-${i}`, value: i * 10 }));
const columns: TableColumn<Row>[] = [
  { id: 'name', header: 'NAME', cell: (r) => r.name, shrink: true, minWidth: 8 },
  { id: 'value', header: 'VALUE', align: 'right', cell: (r) => String(r.value) },
  { id: 'note', header: 'NOTE', cell: () => 'optional column', drop: 1 },
];

const lines = (frame: string | undefined) => (frame ?? '').split('\n');

test('renders a header and only the rows that fit, from the scroll offset', () => {
  const { lastFrame } = render(<Table columns={columns} rows={rows} rowKey={(r) => r.name} width={80} height={6} selected={12} scroll={10} />);
  const out = lines(lastFrame());
  assert.equal(out.length, 6);
  assert.match(out[0]!, /NAME\s+VALUE NOTE/);
  assert.match(out[1]!, /machine-with-a-long-name-10 +100 optional column/);
  assert.match(out[3]!, /^› machine-with-a-long-name-12/, 'selection marker on the selected row');
  assert.match(out[5]!, /name-14 /);
  assert.ok(!lastFrame()!.includes('name-15 '), 'rows below the fold are not rendered');
});

test('column widths come from content; a narrow table drops optional columns and cuts names with an ellipsis', () => {
  const { lastFrame } = render(<Table columns={columns} rows={rows} rowKey={(r) => r.name} width={24} height={3} selected={0} scroll={0} />);
  const out = lines(lastFrame());
  assert.ok(!lastFrame()!.includes('NOTE'));
  assert.match(out[1]!, /^› machine-with-a-… +0$/);
  for (const line of out) assert.ok(line.length <= 24, `"${line}" is wider than 24`);
});

test('scroll is clamped so no blank rows are left at the bottom; empty tables say so', () => {
  const few = rows.slice(0, 3);
  const { lastFrame } = render(<Table columns={columns} rows={few} rowKey={(r) => r.name} width={80} height={10} selected={-1} scroll={7} />);
  assert.equal(lines(lastFrame()).length, 4);
  const empty = render(<Table columns={columns} rows={[]} rowKey={(r) => r.name} width={80} height={10} selected={-1} scroll={0} empty="no machines yet" />);
  assert.match(empty.lastFrame()!, /no machines yet/);
});

test('the selection is hidden when the pane does not have the keyboard', () => {
  const { lastFrame } = render(<Table columns={columns} rows={rows} rowKey={(r) => r.name} width={80} height={4} selected={0} scroll={0} active={false} />);
  assert.ok(!lastFrame()!.includes('›'));
});

test('a row brought up to date in place under a new version is measured again: a longer value is not cut', () => {
  // As the console's fleet rows are: the same object, a new version, in a new array.
  const row = { name: 'm1', value: 5, version: 1 };
  const cols: TableColumn<typeof row>[] = [
    { id: 'name', header: 'NAME', cell: (r) => r.name },
    { id: 'value', header: 'V', align: 'right', cell: (r) => String(r.value) },
  ];
  const table = (rs: (typeof row)[]) => <Table columns={cols} rows={rs} rowKey={(r) => r.name} width={40} height={3} selected={-1} scroll={0} />;
  const { lastFrame, rerender } = render(table([row]));
  assert.match(lines(lastFrame())[1]!, /m1 +5$/);
  row.value = 123456;
  row.version = 2;
  rerender(table([row]));
  assert.match(lines(lastFrame())[1]!, /m1 +123456$/);
});
