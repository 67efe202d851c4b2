// Background pruning: every few minutes the worker prunes a little of what retention allows (raw
// samples of closed periods older than the acceptance window; src/billing/retention.ts), a few
// small transactions at a time, so the ledger stays small without anyone running a command. Every
// worker of a group does it; pruning is idempotent and each batch is its own short transaction.
import { errorMessage } from '../cli/errors.js';
import type { Ledger } from '../ledger/index.js';
import type { Logger } from '../log/logger.js';
import { pruneLedger, type RetentionOptions } from '../billing/retention.js';

export const PRUNE_EVERY_MS = 5 * 60_000;

export class Pruner {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;

  constructor(
    private readonly ledger: Pick<Ledger, 'pruneState' | 'closedInvoices' | 'prune'>,
    private readonly options: RetentionOptions,
    private readonly logger: Logger,
    private readonly everyMs = PRUNE_EVERY_MS,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.runOnce(), this.everyMs);
    this.timer.unref();
  }

  /** One round: at most 20 batches, then wait for the next. */
  runOnce(): Promise<void> {
    this.running ??= pruneLedger(this.ledger, { ...this.options, maxBatches: 20 })
      .then((r) => {
        if (r.deleted > 0) this.logger.info('pruned raw samples of closed periods', { deleted: r.deleted, before: new Date(r.before!).toISOString() });
      })
      .catch((error: unknown) => this.logger.warn('pruning failed; it is tried again later', { error: errorMessage(error) }))
      .finally(() => (this.running = undefined));
    return this.running;
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }
}
