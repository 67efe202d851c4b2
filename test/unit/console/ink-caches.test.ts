// ink 6.8 keeps every distinct text it ever measured or wrapped (vadimdemedes/ink#986), so a live
// screen's memory grew without end; patches/ink+6.8.0.patch bounds both caches. This feeds the real
// modules far more distinct text than the bound and checks that the heap does not keep it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { repoRoot } from '../../helpers/cli.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const heapMiB = () => {
  gc();
  gc();
  return process.memoryUsage().heapUsed / 2 ** 20;
};

test("ink's text measuring and wrapping caches stay bounded however many distinct texts pass", async () => {
  const ink = (file: string) => pathToFileURL(join(repoRoot, 'node_modules', 'ink', 'build', file)).href;
  const measureText = (await import(ink('measure-text.js'))).default as (text: string) => { width: number };
  const wrapText = (await import(ink('wrap-text.js'))).default as (text: string, width: number, wrap: string) => string;
  const before = heapMiB();
  const filler = 'x'.repeat(2000);
  for (let i = 0; i < 20_000; i++) {
    const text = `${i} ${filler}`;
    assert.equal(measureText(text).width, text.length);
    wrapText(text, 100, 'truncate-end');
  }
  const grown = heapMiB() - before;
  // Unbounded, 20,000 texts of 2 kB, twice (a wrap key holds the text too), would be 80 MB; long
  // texts (a table's body, new every frame) are kept a few at a time.
  assert.ok(grown < 4, `the heap grew by ${grown.toFixed(1)} MiB`);
});

test("ink's measure (as patched: one pass, no array of lines) gives the widest line and the line count", async () => {
  const ink = (file: string) => pathToFileURL(join(repoRoot, 'node_modules', 'ink', 'build', file)).href;
  const measureText = (await import(ink('measure-text.js'))).default as (text: string) => { width: number; height: number };
  assert.deepEqual(measureText('ab\nabcd\n\nx'), { width: 4, height: 4 });
  assert.deepEqual(measureText('東京\n\u001b[31mred\u001b[39m…'), { width: 4, height: 2 });
  assert.deepEqual(measureText('trailing\n'), { width: 8, height: 2 });
  const body = Array.from({ length: 60 }, (_, i) => `› row ${i} ${'x'.repeat(i)}…`).join('\n');
  assert.deepEqual(measureText(body), { width: 69, height: 60 });
  assert.equal(measureText(body), measureText(body), 'a long text is measured once');
});
