// One way for every long-running mode to learn it should stop: SIGINT, SIGTERM or SIGHUP, or, for a
// child of `meter up`, its parent going away (stdin closes). The handlers stay installed: a second
// signal (a process group often gets two, e.g. from `timeout` or Ctrl-C) must not kill a process
// that is already flushing; a third one means "now", and exits at once.

let requested: Promise<string> | undefined;

/** Set by `meter up` on its children, so that they never outlive it (read into MeterConfig.exitWithParent). */
export { EXIT_WITH_PARENT_ENV } from '../config/resolve.js';

/** The first call installs the handlers; exitWithParent (from the resolved configuration) also watches stdin. */
export function shutdownRequested(options: { exitWithParent?: boolean } = {}): Promise<string> {
  requested ??= new Promise<string>((resolve) => {
    let signals = 0;
    const on = (reason: string) => {
      signals++;
      if (signals === 3) process.exit(130);
      resolve(reason);
    };
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => on(signal));
    if (options.exitWithParent && process.stdin && !process.stdin.isTTY) {
      process.stdin.on('end', () => on('parent exited'));
      process.stdin.on('error', () => on('parent exited'));
      process.stdin.resume();
      // Reading stdin must not by itself keep the process alive.
      (process.stdin as unknown as { unref?: () => void }).unref?.();
    }
  });
  return requested;
}
