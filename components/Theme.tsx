// Colours, or none: NO_COLOR (https://no-color.org) turns every colour off. Meaning never rests on
// colour alone: stale rows say "stale", statuses are words, the selection has a marker.
import { createContext, useContext, type ReactNode } from 'react';

export type Tone = 'accent' | 'ok' | 'warn' | 'error' | 'muted';

const COLORS: Record<Tone, string> = { accent: 'cyan', ok: 'green', warn: 'yellow', error: 'red', muted: 'gray' };

export interface Theme {
  color: boolean;
  /** The ink colour for a tone, or undefined when colours are off. */
  tone(tone: Tone | undefined): string | undefined;
}

export function makeTheme(color: boolean): Theme {
  return { color, tone: (t) => (color && t ? COLORS[t] : undefined) };
}

/** Colours are on unless NO_COLOR is set to something (the spec ignores an empty NO_COLOR). */
export function themeFromEnv(env: NodeJS.ProcessEnv = process.env): Theme {
  return makeTheme(!env.NO_COLOR);
}

const ThemeContext = createContext<Theme>(makeTheme(true));

export function ThemeProvider({ theme, children }: { theme: Theme; children?: ReactNode }) {
  return <ThemeContext.Provider value={theme}>{children}</ThemeContext.Provider>;
}

export const useTheme = (): Theme => useContext(ThemeContext);
