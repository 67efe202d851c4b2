// Renders any single component as the console would (after gemini-cli's test-utils/render.tsx): inside
// the theme and the UI state and actions contexts, with a partial UI state over the initial one, on
// ink-testing-library's fake terminal. Actions the component dispatches are recorded.
import type { ReactElement } from 'react';
import { render } from 'ink-testing-library';
import { ThemeProvider, makeTheme } from '../../components/Theme.js';
import { UiActionsContext, UiStateContext } from '../../components/UiContexts.js';
import { initialUiState, type UiAction, type UiState } from '../../src/console/ui-state.js';
import { textWidth } from '../../src/format/index.js';

export interface RenderOptions {
  ui?: Partial<UiState>;
  color?: boolean;
}

export function renderWithUi(element: ReactElement, options: RenderOptions = {}) {
  const ui: UiState = { ...initialUiState(), ...options.ui };
  const dispatched: UiAction[] = [];
  const actions = { dispatch: (a: UiAction) => dispatched.push(a) };
  const wrap = (el: ReactElement) => (
    <ThemeProvider theme={makeTheme(options.color ?? false)}>
      <UiStateContext.Provider value={ui}>
        <UiActionsContext.Provider value={actions}>{el}</UiActionsContext.Provider>
      </UiStateContext.Provider>
    </ThemeProvider>
  );
  const instance = render(wrap(element));
  const frame = () => instance.lastFrame() ?? '';
  const lines = () => frame().split('\n');
  return {
    ...instance,
    frame,
    lines,
    dispatched,
    /** Renders another element (new props) in the same providers. */
    update: (el: ReactElement) => instance.rerender(wrap(el)),
    /** The widest line, in terminal columns. */
    widest: () => Math.max(0, ...lines().map(textWidth)),
  };
}
