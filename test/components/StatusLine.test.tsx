import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StatusLine } from '../../components/StatusLine.js';
import { renderWithUi } from './render.js';

test('the main keys, as many as fit', () => {
  assert.match(renderWithUi(<StatusLine readOnly={false} width={100} />).frame(), /^Tab pane · ↑↓ move · Enter detail · \/ filter · s sort · p pause · \? help · q quit$/);
  assert.equal(renderWithUi(<StatusLine readOnly={false} width={20} />).frame(), '? help · q quit');
});

test('the filter being typed, with its cursor and how to keep or clear it', () => {
  const r = renderWithUi(<StatusLine readOnly={false} width={80} />, { ui: { filterEditing: true, filter: 'team=sea' } });
  assert.match(r.frame(), /^\/team=sea  Enter keep · Esc clear$/);
});

test('a kept filter and the detail view change the hints', () => {
  assert.match(renderWithUi(<StatusLine readOnly={false} width={120} />, { ui: { filter: 'db' } }).frame(), /^filter "db" \(Esc clears\) · Tab pane/);
  assert.match(renderWithUi(<StatusLine readOnly={false} width={120} />, { ui: { detail: 'web-1' } }).frame(), /^Esc back · ↑↓ next machine/);
});

test('without keys it says how to get them', () => {
  assert.match(renderWithUi(<StatusLine readOnly={true} width={100} />).frame(), /read-only: .* ssh -t host meter console/);
});
