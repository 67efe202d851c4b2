// The spool's writes to disk, in one place: the real ones, and a seam where a test can crash the
// agent at any one of them (halfway through a write, to tear it) and check what a restart makes of
// the files left behind.
import { closeSync, constants, fdatasyncSync, fsyncSync, ftruncateSync, openSync, rmSync, writeSync } from 'node:fs';

export interface SpoolIo {
  /** Opens a file for appending (creating it). */
  openAppend(path: string): number;
  /** Appends the bytes in one write(2). */
  append(fd: number, data: Buffer): void;
  /** Makes what was appended durable (fdatasync). */
  sync(fd: number): void;
  /** Makes a new file's name durable (fsync of its directory). */
  syncDir(dir: string): void;
  /** Opens a small file to be rewritten in place (creating it). */
  openRewrite(path: string): number;
  /** Writes the bytes at offset 0, in one write(2). */
  rewrite(fd: number, data: Buffer): void;
  /** Cuts a file back to `length` bytes. */
  truncate(path: string, length: number): void;
  remove(path: string): void;
  close(fd: number): void;
}

export const realSpoolIo: SpoolIo = {
  openAppend: (path) => openSync(path, 'a'),
  append: (fd, data) => {
    let written = 0;
    while (written < data.length) written += writeSync(fd, data, written, data.length - written);
  },
  // Not 'a': with O_APPEND, Linux ignores the offset and appends.
  openRewrite: (path) => openSync(path, constants.O_RDWR | constants.O_CREAT, 0o644),
  rewrite: (fd, data) => {
    writeSync(fd, data, 0, data.length, 0);
  },
  sync: (fd) => fdatasyncSync(fd),
  syncDir: (dir) => {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  },
  truncate: (path, length) => {
    const fd = openSync(path, 'r+');
    try {
      ftruncateSync(fd, length);
    } finally {
      closeSync(fd);
    }
  },
  remove: (path) => rmSync(path, { force: true }),
  close: (fd) => closeSync(fd),
};

/** Thrown by a FaultySpoolIo at its fault point: stands for a kill -9 there. */
export class InjectedCrash extends Error {
  constructor(readonly operation: string) {
    super(`injected crash at ${operation}`);
  }
}

/**
 * Counts the spool's writes (appends, syncs, truncations, removals) and crashes at the n-th: an
 * append writes only the first half of its bytes first, so the crash also tears the line.
 */
export class FaultySpoolIo implements SpoolIo {
  count = 0;

  constructor(
    private readonly crashAt: number,
    private readonly io: SpoolIo = realSpoolIo,
  ) {}

  private fault(): boolean {
    this.count++;
    return this.count === this.crashAt;
  }

  openAppend(path: string): number {
    return this.io.openAppend(path);
  }

  append(fd: number, data: Buffer): void {
    this.write('append', (f, d) => this.io.append(f, d), fd, data);
  }

  openRewrite(path: string): number {
    return this.io.openRewrite(path);
  }

  rewrite(fd: number, data: Buffer): void {
    this.write('rewrite', (f, d) => this.io.rewrite(f, d), fd, data);
  }

  /** A write that, at the fault point, writes only the first half of its bytes and crashes. */
  private write(operation: string, write: (fd: number, data: Buffer) => void, fd: number, data: Buffer): void {
    if (this.fault()) {
      write(fd, data.subarray(0, Math.floor(data.length / 2)));
      throw new InjectedCrash(operation);
    }
    write(fd, data);
  }

  sync(fd: number): void {
    if (this.fault()) throw new InjectedCrash('sync');
    this.io.sync(fd);
  }

  syncDir(dir: string): void {
    if (this.fault()) throw new InjectedCrash('syncDir');
    this.io.syncDir(dir);
  }

  truncate(path: string, length: number): void {
    if (this.fault()) throw new InjectedCrash('truncate');
    this.io.truncate(path, length);
  }

  remove(path: string): void {
    if (this.fault()) throw new InjectedCrash('remove');
    this.io.remove(path);
  }

  close(fd: number): void {
    this.io.close(fd);
  }
}
