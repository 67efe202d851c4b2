// Runs the real `meter` binary from source, the way a user runs it, for tests that spawn it.
import { spawn, spawnSync, type ChildProcess, type SpawnOptions, type SpawnSyncReturns } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const cliPath = join(repoRoot, 'src', 'cli.ts');

export function meterArgv(args: string[]): string[] {
  return ['--import', 'tsx', cliPath, ...args];
}

/** Starts `meter ...args` as a child process (from source, through tsx). */
export function spawnMeter(args: string[], options: SpawnOptions = {}): ChildProcess {
  return spawn(process.execPath, meterArgv(args), { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'], ...options });
}

/** Runs `meter ...args` to completion. */
export function runMeter(args: string[], options: { env?: NodeJS.ProcessEnv; timeout?: number; input?: string } = {}): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, meterArgv(args), {
    cwd: repoRoot,
    encoding: 'utf8',
    env: options.env ?? process.env,
    timeout: options.timeout ?? 60_000,
    input: options.input,
  });
}

/** The child's exit code, once it has exited (at once if it already has). */
export function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve(child.exitCode);
    else child.once('exit', (code) => resolve(code));
  });
}
