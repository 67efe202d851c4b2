// A small JSON file rewritten in place with one write() at offset 0. The agent saves its counters and
// spool cursor every interval; open + write + rename each time cost more CPU than all the sampling.
// A single write() of a few hundred bytes is not torn by a crash of the process; a shorter value is
// padded with spaces, which JSON.parse ignores, so no stale tail survives.
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';

export class StateFile<T> {
  private fd: number | undefined;
  private written = 0;

  constructor(readonly path: string) {}

  read(): T | undefined {
    try {
      return JSON.parse(readFileSync(this.path, 'utf8')) as T;
    } catch {
      return undefined;
    }
  }

  write(value: T): void {
    this.fd ??= openSync(this.path, 'w');
    let text = JSON.stringify(value);
    if (text.length < this.written) text = text.padEnd(this.written, ' ');
    writeSync(this.fd, text, 0, 'utf8');
    this.written = text.length;
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}
