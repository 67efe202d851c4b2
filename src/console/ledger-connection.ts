// The console's read-only ledger (SQLite or PostgreSQL), opened on first use and afresh after it went
// away (created meanwhile, replaced, broken): one connection shared by the cost store and the history.
import { openLedger, type Ledger } from '../ledger/index.js';

export class LedgerConnection {
  private opening: Promise<Ledger> | undefined;

  constructor(readonly path: string) {}

  /** The open ledger; a failed open is not kept, so the next call tries again. */
  get(): Promise<Ledger> {
    this.opening ??= openLedger(this.path, {
      readonly: true,
      // A short busy timeout: a locked ledger must not hold up the console.
      busyTimeoutMs: 100,
      // The cost polls and a history read may run side by side.
      maxConnections: 3,
      applicationName: 'meter-console',
    }).catch((error: unknown) => {
      this.opening = undefined;
      throw error;
    });
    return this.opening;
  }

  /** Closes the ledger; the next get() opens it again. */
  reset(): void {
    const opening = this.opening;
    this.opening = undefined;
    void opening?.then(
      (ledger) => ledger.close(),
      () => {},
    );
  }

  async close(): Promise<void> {
    const opening = this.opening;
    this.opening = undefined;
    await opening?.then(
      (ledger) => ledger.close(),
      () => {},
    );
  }
}
