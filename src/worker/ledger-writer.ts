// Where the worker's ledger transactions run, one batch after another in the order queued. SQLite's
// run on a thread of their own: the main thread decodes and validates the next batch while SQLite
// commits the previous one, which on two cores roughly doubles what one thread can do. PostgreSQL's
// run through the ledger interface on the main thread (the database does the work, over the wire).
import { Worker } from 'node:worker_threads';
import { MeterError } from '../cli/errors.js';
import { LedgerGapError, LogBehindLedgerError, type ApplyResult, type Ledger, type LedgerBatch } from '../ledger/index.js';
import { packRows, type PackedRows } from '../ledger/rows.js';

/** What a batch changed, and how long its transaction took (seconds; --metrics' transaction histogram). */
export type TimedApplyResult = ApplyResult & { seconds?: number };

export interface LedgerWriter {
  /** Applies one batch in one transaction; resolves with what it changed. */
  apply(batch: LedgerBatch): Promise<TimedApplyResult>;
  /** Waits for the queued batches, then closes the writer's connection. */
  close(): Promise<void>;
}

/** A batch as it crosses to the ledger thread: its rows packed (packRows), the DLQ'd bytes left behind. */
export type TransferBatch = Omit<LedgerBatch, 'samples'> & { samples: PackedRows };

function forTransfer(batch: LedgerBatch): TransferBatch {
  return { ...batch, samples: packRows(batch.samples), rejects: batch.rejects.map(({ offset, code, reason }) => ({ offset, code, reason })) };
}

/**
 * Applies batches through the ledger interface: a partition's batches one at a time in the order
 * queued, different partitions' side by side (PostgreSQL runs them on connections of their own; their
 * offset rows and machines differ, so they do not wait on each other).
 */
export class InlineLedgerWriter implements LedgerWriter {
  private readonly tails = new Map<number, Promise<unknown>>();

  constructor(private readonly ledger: Pick<Ledger, 'applyBatch'>) {}

  apply(batch: LedgerBatch): Promise<TimedApplyResult> {
    const result = (this.tails.get(batch.partition) ?? Promise.resolve()).then(async () => {
      const started = performance.now();
      const applied = await this.ledger.applyBatch(batch);
      return { ...applied, seconds: (performance.now() - started) / 1000 };
    });
    const tail = result.catch(() => {});
    this.tails.set(batch.partition, tail);
    void tail.then(() => {
      if (this.tails.get(batch.partition) === tail) this.tails.delete(batch.partition);
    });
    return result;
  }

  async close(): Promise<void> {
    await Promise.all(this.tails.values());
  }
}

type Reply =
  | { type: 'ready' }
  | { type: 'result'; id: number; result: ApplyResult; seconds: number }
  | { type: 'error'; id?: number; name: string; message: string; partition?: number; fetchedOffset?: number; nextOffset?: number };

/** The ledger thread's entry module: .ts when running from source (through tsx), .js when built. */
function threadEntry(): { code: string; eval: true } | { url: URL; eval: false } {
  const fromSource = import.meta.url.endsWith('.ts');
  const url = new URL(fromSource ? './ledger-thread.ts' : './ledger-thread.js', import.meta.url);
  if (!fromSource) return { url, eval: false };
  // Threads do not inherit tsx's loader: register it first, then load the entry.
  const tsx = import.meta.resolve('tsx/esm/api');
  return {
    code: `import(${JSON.stringify(tsx)}).then(({ register }) => { register(); return import(${JSON.stringify(url.href)}); })`,
    eval: true,
  };
}

export class ThreadLedgerWriter implements LedgerWriter {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (r: TimedApplyResult) => void; reject: (e: Error) => void }>();
  private readonly inflight = new Set<Promise<unknown>>();
  private failure?: Error;
  private closing = false;

  private constructor(private readonly worker: Worker) {
    worker.on('message', (reply: Reply) => {
      if (reply.type !== 'result' && reply.type !== 'error') return;
      const waiter = reply.id === undefined ? undefined : this.pending.get(reply.id);
      if (reply.id !== undefined) this.pending.delete(reply.id);
      if (reply.type === 'result') {
        waiter?.resolve({ ...reply.result, seconds: reply.seconds });
        return;
      }
      const error =
        reply.name === 'LedgerGapError'
          ? new LedgerGapError(reply.partition!, reply.fetchedOffset!, reply.nextOffset!)
          : reply.name === 'LogBehindLedgerError'
            ? new LogBehindLedgerError(reply.partition!, reply.fetchedOffset!, reply.nextOffset!)
            : Object.assign(new Error(reply.message), { name: reply.name });
      if (waiter) waiter.reject(error);
      else this.fail(error);
    });
    worker.on('error', (error) => this.fail(error));
    worker.on('exit', (code) => {
      if (!this.closing) this.fail(new Error(`the ledger thread exited (code ${code})`));
    });
  }

  private fail(error: Error): void {
    this.failure ??= error;
    for (const waiter of this.pending.values()) waiter.reject(error);
    this.pending.clear();
  }

  /** Starts the thread and waits until it has the ledger open. */
  static async start(ledgerPath: string, busyTimeoutMs?: number): Promise<ThreadLedgerWriter> {
    const entry = threadEntry();
    const workerData = { ledgerPath, busyTimeoutMs };
    const worker = entry.eval ? new Worker(entry.code, { eval: true, workerData }) : new Worker(entry.url, { workerData });
    await new Promise<void>((resolve, reject) => {
      const onMessage = (reply: Reply) => {
        if (reply.type === 'ready') {
          cleanup();
          resolve();
        } else if (reply.type === 'error') {
          cleanup();
          void worker.terminate();
          reject(new MeterError(reply.message));
        }
      };
      const onError = (error: Error) => {
        cleanup();
        void worker.terminate();
        reject(new MeterError(`the ledger thread failed to start: ${error.message}`));
      };
      const cleanup = () => {
        worker.off('message', onMessage);
        worker.off('error', onError);
      };
      worker.on('message', onMessage);
      worker.on('error', onError);
    });
    return new ThreadLedgerWriter(worker);
  }

  apply(batch: LedgerBatch): Promise<TimedApplyResult> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    const result = new Promise<TimedApplyResult>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      const transfer = forTransfer(batch);
      this.worker.postMessage({ type: 'apply', id, batch: transfer }, [transfer.samples.values.buffer as ArrayBuffer]);
    });
    const settled = result.then(
      () => {},
      () => {},
    );
    this.inflight.add(settled);
    void settled.then(() => this.inflight.delete(settled));
    return result;
  }

  async close(): Promise<void> {
    await Promise.all(this.inflight);
    this.closing = true;
    this.failure ??= new Error('the ledger writer is closed');
    const exited = new Promise<void>((resolve) => this.worker.once('exit', () => resolve()));
    this.worker.postMessage({ type: 'close' });
    await exited;
  }
}
