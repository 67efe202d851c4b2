// Runs the real `meter` binary from source, the way a user runs it, for tests that spawn it.
import { spawn, spawnSync, type ChildProcess, type SpawnOptions, type SpawnSyncReturns } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const cliPath = join(repoRoot, 'src', 'cli.ts');

export function meterArgv(args: string[]): string[] {
  return ['--import', 'tsx', cliPath, ...args];
}

/** Children spawnMeter started that may still run: killed when the test file's process exits. */
const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

/**
 * Starts `meter ...args` as a child process (from source, through tsx). It cannot outlive the test
 * file: it is killed when the file's process exits, pass or fail (the runner also ends whatever is
 * left by the mark in its environment).
 */
export function spawnMeter(args: string[], options: SpawnOptions = {}): ChildProcess {
  const child = spawn(process.execPath, meterArgv(args), { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'], ...options });
  live.add(child);
  child.once('exit', () => live.delete(child));
  return child;
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

export interface Collected {
  code: number | null;
  stdout: string;
  stderr: string;
  seconds: number;
}

/** Runs a command to completion without blocking the event loop (SIGKILL after timeoutMs). */
export function collect(command: string, args: string[], options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<Collected> {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd: repoRoot, env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d) => (stdout += d));
    child.stderr!.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, seconds: (Date.now() - started) / 1000 });
    });
  });
}
