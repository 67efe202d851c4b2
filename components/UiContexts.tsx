// UI state and UI actions in separate contexts (as in Gemini CLI): components that only show state
// do not re-render when the actions object would change, and nothing below ConsoleApp reads keys.
import { createContext, useContext } from 'react';
import { initialUiState, type UiAction, type UiState } from '../src/console/ui-state.js';

export interface UiActions {
  dispatch(action: UiAction): void;
}

export const UiStateContext = createContext<UiState>(initialUiState());
export const UiActionsContext = createContext<UiActions>({ dispatch: () => {} });

export const useUiState = (): UiState => useContext(UiStateContext);
export const useUiActions = (): UiActions => useContext(UiActionsContext);
