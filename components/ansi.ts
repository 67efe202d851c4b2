// Terminal styles written into text (SGR escape codes), for text that ink draws as one node: a whole
// table body is one Text, so ink lays out and measures one node instead of several per row. Styles
// follow chalk's colour support, as ink's own <Text color> does (none on a terminal without colours).
import chalk from 'chalk';

const FOREGROUND: Record<string, number> = { black: 30, red: 31, green: 32, yellow: 33, blue: 34, magenta: 35, cyan: 36, white: 37, gray: 90, grey: 90 };

export interface Style {
  /** An ink colour name (the theme's tones). */
  color?: string;
  inverse?: boolean;
  dim?: boolean;
  bold?: boolean;
}

/** `text` in the style, closed again after it (so styles never leak into what follows). */
export function styled(text: string, style: Style): string {
  if (!text || chalk.level === 0) return text;
  let open = '';
  let close = '';
  const fg = style.color ? FOREGROUND[style.color] : undefined;
  if (fg !== undefined) {
    open += `\u001b[${fg}m`;
    close = `\u001b[39m${close}`;
  }
  if (style.inverse) {
    open += '\u001b[7m';
    close = `\u001b[27m${close}`;
  }
  if (style.bold) {
    open += '\u001b[1m';
    close = `\u001b[22m${close}`;
  } else if (style.dim) {
    open += '\u001b[2m';
    close = `\u001b[22m${close}`;
  }
  return open + text + close;
}

/**
 * Marks a run of text for a glyph transform (see Table's `glyphs`): escape sequences that take no
 * columns when ink measures the text, and that glyphRuns() removes again on the way out.
 */
export const GLYPHS_ON = '\u001b[5001m';
export const GLYPHS_OFF = '\u001b[5002m';
const RUN = /\u001b\[5001m([\s\S]*?)\u001b\[5002m/g;

/** Applies `glyphs` to each marked run of `line` and drops the marks. */
export function glyphRuns(line: string, glyphs: (text: string) => string): string {
  return line.includes(GLYPHS_ON) ? line.replace(RUN, (_, run: string) => glyphs(run)) : line;
}
