// Runs `meter up`'s child processes: each writes its log straight to a file of its own (so a log
// never depends on the parent staying alive), a child that dies is restarted once, and a second death
// is fatal. Each child's stdin is a pipe from us: if `up` itself is killed, the pipe closes and the
// children shut down (EXIT_WITH_PARENT_ENV), so nothing is left behind. Stopping sends SIGTERM to
// all, waits, then SIGKILLs the rest.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readSync, statSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { EventEmitter } from 'node:events';
import { EXIT_WITH_PARENT_ENV } from '../cli/shutdown.js';

export interface ChildSpec {
  name: string;
  command: string;
  args: string[];
  logFile: string;
  env?: NodeJS.ProcessEnv;
}

export interface ChildStatus {
  name: string;
  pid: number | undefined;
  logFile: string;
  state: 'running' | 'restarted' | 'failed' | 'stopped';
  deaths: number;
  lastExit?: string;
}

export type TroubledChild = ChildStatus & { state: 'restarted' | 'failed' };

export interface SupervisorEvents {
  /** A child died and was started again (once). */
  restarted: [ChildStatus];
  /** A child died a second time: the pipeline cannot go on. */
  fatal: [ChildStatus];
  /** A line of a child's log, when echoing is on (headless). */
  line: [string, string];
}

const MAX_DEATHS = 2;

interface Managed {
  spec: ChildSpec;
  status: ChildStatus;
  child?: ChildProcess;
  /** How far the echo has read the log file. */
  echoed: number;
}

export class Supervisor extends EventEmitter<SupervisorEvents> {
  private readonly children: Managed[] = [];
  private stopping = false;
  private echoTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: { echo?: boolean } = {}) {
    super();
    if (options.echo) this.echoTimer = setInterval(() => this.echoLogs(), 300);
  }

  get statuses(): ChildStatus[] {
    return this.children.map((c) => ({ ...c.status }));
  }

  /** Children that died: restarted once, or dead for good. */
  get troubled(): TroubledChild[] {
    return this.statuses.filter((s): s is TroubledChild => s.state === 'restarted' || s.state === 'failed');
  }

  start(spec: ChildSpec): void {
    mkdirSync(dirname(spec.logFile), { recursive: true });
    let size = 0;
    try {
      size = statSync(spec.logFile).size;
    } catch {
      // a new log
    }
    const managed: Managed = {
      spec,
      status: { name: spec.name, pid: undefined, logFile: spec.logFile, state: 'running', deaths: 0 },
      echoed: size,
    };
    this.children.push(managed);
    this.launch(managed);
  }

  private launch(managed: Managed): void {
    const { spec } = managed;
    const log = openSync(spec.logFile, 'a');
    const child = spawn(spec.command, spec.args, {
      stdio: ['pipe', log, log],
      env: { ...(spec.env ?? process.env), [EXIT_WITH_PARENT_ENV]: '1' },
    });
    closeSync(log);
    // Never write to it: it only tells the child when we are gone. EPIPE after a child died is fine.
    child.stdin?.on('error', () => undefined);
    managed.child = child;
    managed.status.pid = child.pid;
    child.on('error', (error) => this.note(managed, `could not start ${spec.name}: ${error.message}`));
    child.on('exit', (code, signal) => {
      managed.child = undefined;
      managed.status.pid = undefined;
      managed.status.lastExit = signal ? `signal ${signal}` : `exit code ${code}`;
      if (this.stopping) {
        managed.status.state = 'stopped';
        return;
      }
      managed.status.deaths++;
      this.note(managed, `${spec.name} died (${managed.status.lastExit})`);
      if (managed.status.deaths >= MAX_DEATHS) {
        managed.status.state = 'failed';
        this.emit('fatal', { ...managed.status });
        return;
      }
      managed.status.state = 'restarted';
      this.launch(managed);
      this.emit('restarted', { ...managed.status });
    });
  }

  /** A line of our own in the child's log, so its death is explained where people look. */
  private note(managed: Managed, message: string): void {
    const fd = openSync(managed.spec.logFile, 'a');
    writeSync(fd, `meter up: ${message}\n`);
    closeSync(fd);
  }

  /** Headless: new lines of every log go to the 'line' listeners. */
  private echoLogs(): void {
    for (const managed of this.children) {
      let size: number;
      try {
        size = statSync(managed.spec.logFile).size;
      } catch {
        continue;
      }
      if (size <= managed.echoed) continue;
      const fd = openSync(managed.spec.logFile, 'r');
      const buf = Buffer.alloc(Math.min(size - managed.echoed, 1 << 20));
      const n = readSync(fd, buf, 0, buf.length, managed.echoed);
      closeSync(fd);
      const text = buf.toString('utf8', 0, n);
      const complete = text.lastIndexOf('\n') + 1;
      managed.echoed += Buffer.byteLength(text.slice(0, complete));
      for (const line of text.slice(0, complete).split('\n')) if (line) this.emit('line', managed.spec.name, line);
    }
  }

  /** SIGTERM to every child, SIGKILL to those still running after the grace period. */
  async stop(graceMs = 5000): Promise<void> {
    this.stopping = true;
    const running = this.children.filter((c) => c.child && c.child.exitCode === null && c.child.signalCode === null);
    const exits = running.map((c) => new Promise<void>((resolve) => c.child!.once('exit', () => resolve())));
    for (const c of running) c.child!.kill('SIGTERM');
    const timer = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), graceMs).unref());
    if ((await Promise.race([Promise.all(exits), timer])) === 'timeout') {
      for (const c of running) if (c.child && c.child.exitCode === null) c.child.kill('SIGKILL');
      await Promise.race([Promise.all(exits), new Promise((r) => setTimeout(r, 2000).unref())]);
    }
    if (this.echoTimer) {
      clearInterval(this.echoTimer);
      this.echoLogs();
    }
  }
}
