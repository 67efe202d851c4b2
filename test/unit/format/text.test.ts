import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fit, textTable, textWidth, thousands, truncate } from '../../../src/format/index.js';

test('textWidth counts terminal columns: wide characters and emoji take two, combining marks none', () => {
  assert.equal(textWidth('web-1'), 5);
  assert.equal(textWidth('東京'), 4);
  assert.equal(textWidth('🚀'), 2);
  assert.equal(textWidth('e\u0301'), 1, 'e + combining acute');
  assert.equal(textWidth('👩‍💻'), 2, 'a ZWJ sequence is one glyph');
  assert.equal(textWidth('\u001b[31mred\u001b[39m'), 3, 'colour codes take no columns');
});

test('truncate and fit cut and pad in columns, never splitting a wide character', () => {
  assert.equal(truncate('東京-prod', 5), '東京…');
  assert.equal(textWidth(truncate('東京-prod', 4)), 3, 'a wide character that would straddle the edge is left out');
  assert.equal(truncate('abcdef', 4), 'abc…');
  assert.equal(truncate('abc', 3), 'abc');
  for (const text of ['🚀 launch', 'équipe', '東京', 'plain']) {
    for (const w of [1, 3, 6, 10]) assert.equal(textWidth(fit(text, w)), w, `${text} in ${w}`);
  }
});

test('thousands groups digits', () => {
  assert.equal(thousands(1234567), '1,234,567');
  assert.equal(thousands(12n ** 12n), '8,916,100,448,256');
  assert.equal(thousands(null), '—');
});

test('a text table with wide labels keeps its columns aligned in terminal columns', () => {
  const lines = textTable(
    [{ header: 'TEAM', shrink: true, min: 4 }, { header: 'TOTAL', align: 'right' }],
    [
      ['東京チーム', '1.00'],
      ['🚀 rockets', '22.50'],
      ['search', '333.00'],
    ],
    { rulesBefore: [3] },
  );
  const ends = lines.filter((l) => !l.startsWith('-')).map((l) => textWidth(l));
  assert.deepEqual(new Set(ends).size, 1, `every line ends in the same column:\n${lines.join('\n')}`);
  assert.match(lines.at(-1)!, /^-+$/);
  const narrow = textTable([{ header: 'TEAM', shrink: true, min: 4 }, { header: 'TOTAL', align: 'right' }], [['東京チーム東京チーム', '1.00']], { width: 14 });
  for (const l of narrow) assert.ok(textWidth(l) <= 14, l);
});
