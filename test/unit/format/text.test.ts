import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
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

/** The patch's narrow fast path, read from the installed string-width, so the checks follow it. */
function installedNarrowText(): RegExp {
  const source = readFileSync(createRequire(import.meta.url).resolve('string-width').replace(/[^/]+$/, 'index.js'), 'utf8');
  const found = /const narrowText = (\/.+\/);/.exec(source);
  assert.ok(found, 'the narrow fast path is installed (npm ci applies patches/ with patch-package)');
  return new Function(`return ${found[1]}`)() as RegExp;
}

test('string-width as patched here: every character its narrow fast path takes is one column by the full rules', async () => {
  // patches/string-width+8.3.0.patch answers "one column a character" for text of these characters
  // without Intl.Segmenter.
  const narrow = installedNarrowText();
  const { default: stringWidth } = await import('string-width');
  let checked = 0;
  for (let c = 0x20; c <= 0xffff; c++) {
    const ch = String.fromCodePoint(c);
    if (!narrow.test(ch)) continue;
    // An emoji first sends the text down the full path (segments, emoji and East Asian Width rules);
    // a character that joined it into one cluster, or were not one column, would change the sum.
    assert.equal(stringWidth('\u{1F600}' + ch) - 2, 1, `U+${c.toString(16).toUpperCase()} is one column`);
    checked++;
  }
  assert.ok(checked > 1000, `${checked} characters checked`);
  assert.equal(textWidth('› sim-web-1 ▂▇▁ — team=search…'), 30);
});

test('every character meter itself writes takes string-width\'s narrow fast path', () => {
  // The full path costs about 100 us a line, and its first use in a process 15-20 ms (Intl.Segmenter
  // and the emoji tables), a frame's budget: a lag pane's first "∞" was the one slow frame of the
  // console's benchmark. A new symbol goes in the patch.
  const narrow = installedNarrowText();
  const ours = new Set<string>();
  for (const folder of ['src', 'components']) {
    const root = new URL(`../../../${folder}/`, import.meta.url);
    for (const file of readdirSync(root, { recursive: true, encoding: 'utf8' })) {
      if (!/\.tsx?$/.test(file)) continue;
      for (const ch of readFileSync(new URL(file, root), 'utf8').replace(/[\u0000-\u007f]/g, '')) ours.add(ch);
    }
  }
  assert.ok(ours.has('∞') && ours.has('›'), 'the sources were read');
  const slow = [...ours].filter((ch) => !narrow.test(ch)).map((ch) => `${ch} U+${ch.codePointAt(0)!.toString(16).toUpperCase()}`);
  assert.deepEqual(slow, [], 'characters in src/ or components/ outside the narrow fast path');
});
