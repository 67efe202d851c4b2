// ink renders only the last frame when it believes it runs in CI (CI or CONTINUOUS_INTEGRATION set,
// read once when ink is first imported). An operator's terminal is interactive whatever the
// environment says (a CI job may well open the console in tmux), so when stdout is a terminal we
// drop those variables before ink is loaded. Call this before importing run-console.js.
export function renderLiveOnTerminal(stdout: { isTTY?: boolean } = process.stdout): void {
  if (!stdout.isTTY) return;
  delete process.env.CI;
  delete process.env.CONTINUOUS_INTEGRATION;
}
