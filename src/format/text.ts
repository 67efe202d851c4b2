// Text measured in terminal columns, the one way every table and line in meter is measured: wide
// characters (CJK) and most emoji take two columns, combining marks none. string-width is what ink
// itself measures with, so what we pad and cut lines up exactly with what ink lays out.
import stringWidth from 'string-width';

export const ELLIPSIS = '…';

/** Printable ASCII only: one column a character, no measuring needed. */
export const isPlainAscii = (text: string): boolean => /^[\u0020-\u007e]*$/.test(text);

/** Columns `text` takes on a terminal (ANSI colour codes take none). */
export function textWidth(text: string): number {
  return isPlainAscii(text) ? text.length : stringWidth(text);
}

/**
 * Loads string-width's full rules (Intl.Segmenter, the emoji and East Asian Width tables), which
 * text beyond its fast paths needs and whose first use in a process takes 15-20 ms. A live screen
 * calls this before its first frame, so the frame that first shows a wide label does not pay it.
 */
export function loadFullWidthRules(): void {
  // Two CJK characters, an emoji and a combining mark, escaped: meter writes none of them itself.
  stringWidth('\u6771\u4eac\u{1F680}e\u0301');
}

const graphemes = new Intl.Segmenter('en', { granularity: 'grapheme' });

/** Cuts `text` to at most `width` columns, ending in an ellipsis when anything was cut. */
export function truncate(text: string, width: number): string {
  if (width <= 0) return '';
  if (isPlainAscii(text)) return text.length <= width ? text : width === 1 ? ELLIPSIS : text.slice(0, width - 1) + ELLIPSIS;
  if (stringWidth(text) <= width) return text;
  // Whole characters only: a wide character that would straddle the edge is left out.
  let out = '';
  let used = 0;
  for (const { segment } of graphemes.segment(text)) {
    const w = stringWidth(segment);
    if (used + w > width - 1) break;
    out += segment;
    used += w;
  }
  return out + ELLIPSIS;
}

/** Pads or cuts to exactly `width` columns. */
export function fit(text: string, width: number, align: 'left' | 'right' = 'left'): string {
  const cut = truncate(text, width);
  const pad = width - textWidth(cut);
  if (pad <= 0) return cut;
  return align === 'right' ? ' '.repeat(pad) + cut : cut + ' '.repeat(pad);
}

/** The first of several renderings, most detailed first, that fits `width`; else the last, cut. */
export function firstThatFits(candidates: readonly string[], width: number): string {
  for (const c of candidates) if (textWidth(c) <= width) return c;
  return truncate(candidates[candidates.length - 1] ?? '', width);
}

/** Whole numbers with thousands separators: 12,345 ("—" when unknown). */
export function thousands(value: number | bigint | null | undefined): string {
  if (value === null || value === undefined) return '—';
  if (typeof value === 'bigint') return value.toLocaleString('en-US');
  if (!Number.isFinite(value)) return '—';
  return Math.round(value).toLocaleString('en-US');
}
