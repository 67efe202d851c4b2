import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderToString } from 'ink';
import { PlainSnapshot } from '../../components/PlainSnapshot.js';
import { ThemeProvider, makeTheme } from '../../components/Theme.js';
import { sampleSnapshot } from './fixtures.js';

test('the plain snapshot lists every machine (no height limit), the cost lines and the lag, without a selection', () => {
  const text = renderToString(
    <ThemeProvider theme={makeTheme(false)}>
      <PlainSnapshot snapshot={sampleSnapshot(60)} width={120} />
    </ThemeProvider>,
    { columns: 120 },
  );
  const lines = text.split('\n');
  assert.equal(lines.filter((l) => /^  sim-\w+-\d\d .*\d+s ago|^  sim-\w+-\d\d .*1m ago/.test(l)).length, 60);
  assert.ok(!text.includes('›'), 'no selection marker');
  assert.match(text, /^Cost$/m);
  assert.match(text, /by machine · 2025-11-01 to 2025-12-01/);
  assert.match(text, /^Lag$/m);
  assert.match(text, /2 +50 +700 +650 .*STALL/);
  for (const l of lines) assert.ok(l.length <= 120);
});
