// patches/ink+6.8.0.patch composes each screen row from the strings written on it instead of a grid of
// styled cells (ink 6.8 tokenized every character of the screen on every frame). What the terminal
// shows must not change: for any writes (styled, wide characters, side by side or overlapping), every
// cell has the same character and the same styles as ink's own cell-by-cell painting gives.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import fc from 'fast-check';
import { styledCharsFromTokens, styledCharsToString, tokenize } from '@alcalzone/ansi-tokenize';
import stringWidth from 'string-width';
import { repoRoot } from '../../helpers/cli.js';

interface Write {
  x: number;
  y: number;
  text: string;
  /** Drawn through a Transform that turns digits into blocks (as the sparklines are), keeping widths. */
  glyphs?: boolean;
}

const BLOCKS = '▁▂▃▄▅▆▇█';
const toGlyphs = (line: string) => line.replace(/\u001b\[[0-9;]*m|[0-7]/g, (m) => (m.length === 1 ? BLOCKS[Number(m)]! : m));

type OutputClass = new (o: { width: number; height: number }) => {
  write(x: number, y: number, text: string, o: { transformers: Array<(line: string, index: number) => string> }): void;
  get(): { output: string; height: number };
};

const Output = (await import(pathToFileURL(join(repoRoot, 'node_modules', 'ink', 'build', 'output.js')).href)).default as OutputClass;

/** ink 6.8's own output stage, unpatched: every cell a styled character, later writes over earlier. */
function paintedByInk(width: number, height: number, writes: Write[]): string {
  const grid = Array.from({ length: height }, () => Array.from({ length: width }, () => ({ type: 'char', value: ' ', fullWidth: false, styles: [] as unknown[] })));
  for (const w of writes) {
    w.text.split('\n').forEach((line, i) => {
      const row = grid[w.y + i] as unknown[] | undefined;
      if (!row) return;
      let x = w.x;
      for (const c of styledCharsFromTokens(tokenize(w.glyphs ? toGlyphs(line) : line))) {
        row[x] = c;
        const cw = Math.max(1, stringWidth(c.value));
        for (let k = 1; k < cw; k++) row[x + k] = { type: 'char', value: '', fullWidth: false, styles: c.styles };
        x += cw;
      }
    });
  }
  return grid.map((row) => styledCharsToString((row as Parameters<typeof styledCharsToString>[0]).filter(Boolean)).trimEnd()).join('\n');
}

function patched(width: number, height: number, writes: Write[]): string {
  const output = new Output({ width, height });
  for (const w of writes) output.write(w.x, w.y, w.text, { transformers: w.glyphs ? [toGlyphs] : [] });
  return output.get().output;
}

/**
 * What the terminal shows: per row, each cell's character and its effective styles, as ink's own
 * tokenizer reads them (both screens go through its serialisation once, so its normal form is compared).
 */
function cells(screen: string): string[][] {
  const normal = (line: string) => styledCharsToString(styledCharsFromTokens(tokenize(line)));
  return screen.split('\n').map((line) =>
    styledCharsFromTokens(tokenize(normal(line)))
      .map((c) => `${c.value}|${c.styles.map((s) => s.code).sort().join(',')}`)
      // Trailing unstyled spaces are not drawn either way.
      .join('\u0000')
      .replace(/(\u0000 \|)+$/, '')
      .split('\u0000'),
  );
}

const STYLES = ['', '\u001b[1m', '\u001b[31m', '\u001b[7m', '\u001b[2m\u001b[36m'];
const CLOSES: Record<string, string> = { '': '', '\u001b[1m': '\u001b[22m', '\u001b[31m': '\u001b[39m', '\u001b[7m': '\u001b[27m', '\u001b[2m\u001b[36m': '\u001b[39m\u001b[22m' };
// Now and then a style is left open (a write cut short): it must not spill into what follows.
const piece = fc
  .tuple(fc.constantFrom(...STYLES), fc.array(fc.constantFrom('a', 'b', ' ', '7', '─', '▇', '日', '🚀', 'é'), { minLength: 1, maxLength: 12 }), fc.integer({ min: 0, max: 9 }))
  .map(([open, chars, n]) => `${open}${chars.join('')}${n === 0 ? '' : CLOSES[open]}`);
const text = fc.array(piece, { minLength: 1, maxLength: 3 }).map((p) => p.join(''));

test('writes side by side: the same cells as ink paints them', () => {
  fc.assert(
    fc.property(fc.array(text, { minLength: 1, maxLength: 5 }), fc.integer({ min: 0, max: 3 }), (texts, y) => {
      // Each write starts where the last ended, plus a random gap: nothing overlaps.
      let x = 0;
      const writes = texts.map((t, i) => {
        const w = { x: x + (i % 3), y, text: t, glyphs: i % 2 === 1 };
        x = w.x + stringWidth(t);
        return w;
      });
      // (Wide enough for them all: ink lays nothing out past the screen's width.)
      assert.deepEqual(cells(patched(400, 4, writes)), cells(paintedByInk(400, 4, writes)));
    }),
    { numRuns: 400 },
  );
});

test('overlapping writes (later over earlier) and lines below the screen: the same cells as ink paints them', () => {
  const write = fc.record({ x: fc.integer({ min: 0, max: 20 }), y: fc.integer({ min: 0, max: 5 }), text: fc.array(text, { minLength: 1, maxLength: 3 }).map((l) => l.join('\n')), glyphs: fc.boolean() });
  fc.assert(
    fc.property(fc.array(write, { minLength: 1, maxLength: 6 }), (writes) => {
      assert.deepEqual(cells(patched(100, 4, writes)), cells(paintedByInk(100, 4, writes)));
    }),
    { numRuns: 400 },
  );
});

test('a wide character takes two columns: what follows it stays aligned', () => {
  const screen = patched(40, 2, [
    { x: 0, y: 0, text: 'team=日本 🚀' },
    { x: 14, y: 0, text: '\u001b[1mok\u001b[22m' },
    { x: 0, y: 1, text: 'team=ab ok' },
    { x: 14, y: 1, text: 'ok' },
  ]);
  const [one, two] = screen.split('\n').map((l) => l.replace(/\u001b\[[0-9;]*m/g, ''));
  assert.equal(stringWidth(one!.slice(0, one!.indexOf('ok'))), 14);
  assert.equal(two!.indexOf('ok', 10), 14);
});
