// What the console has asked its HistorySource and what came back: the detail view's machine and
// range, re-read every so often while it is open, and the fleet's sparklines filled from recent
// history once per machine. Answers arrive whenever they do; an answer to an older question (the
// operator moved on to another machine or range) is dropped.
import { errorMessage } from '../cli/errors.js';
import { historyWindow, type HistoryPoint, type HistoryRange, type HistorySource, type HistoryWindow, type MachineHistoryData } from './history.js';

/** What the detail view shows: which machine, which range, how many columns its chart has. */
export interface DetailRequest {
  machine: string;
  range: HistoryRange;
  chartColumns: number;
}

export interface DetailState {
  request: DetailRequest;
  window: HistoryWindow;
  state: 'loading' | 'ok' | 'error';
  message?: string;
  data: MachineHistoryData | null;
}

export interface HistoryStoreOptions {
  source: HistorySource;
  /** The billing period holding an instant (coverage and cost per day are for it). */
  period: (now: number) => { from: number; to: number };
  /** How often an open detail view's history is read again (the live tail fills in between). */
  refreshMs?: number;
  /** Points per machine for the sparklines, and how far back they may be. */
  sparkPoints: number;
  sparkSinceMs: number;
  onChange?: () => void;
  now?: () => number;
}

/** How often an open detail view's history is read again by default. */
export const DETAIL_REFRESH_MS = 60_000;

export class HistoryStore {
  detail: DetailState | null = null;
  /** Recent history per machine, for sparklines; drainSparklinesChanged() says whose arrived. */
  readonly sparklines = new Map<string, readonly HistoryPoint[]>();
  private sparklinesChanged = new Set<string>();
  private asked = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly requested = new Set<string>();
  private pending: string[] = [];
  private sparkFetch: Promise<void> | null = null;
  private stopped = false;
  private readonly now: () => number;

  constructor(private readonly options: HistoryStoreOptions) {
    this.now = options.now ?? Date.now;
  }

  /** The detail view opened, changed machine or range, or closed (null). */
  setDetail(request: DetailRequest | null): void {
    const same =
      request && this.detail && this.detail.request.machine === request.machine && this.detail.request.range === request.range && this.detail.request.chartColumns === request.chartColumns;
    if (same) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (!request) {
      this.detail = null;
      this.asked++;
      this.options.onChange?.();
      return;
    }
    void this.readDetail(request, true);
  }

  private async readDetail(request: DetailRequest, fresh: boolean): Promise<void> {
    const ask = ++this.asked;
    const now = this.now();
    const window = historyWindow(request.range, now, this.options.period(now), request.chartColumns);
    // A new machine or range shows "loading"; a periodic re-read keeps showing the old data meanwhile.
    if (fresh || !this.detail) this.detail = { request, window, state: 'loading', data: null };
    this.options.onChange?.();
    let next: DetailState;
    try {
      const data = await this.options.source.machineHistory(request.machine, window);
      next = { request, window, state: 'ok', data };
    } catch (error) {
      next = { request, window, state: 'error', message: `history: ${errorMessage(error).split('\n')[0]}`, data: this.detail?.data ?? null };
    }
    if (ask !== this.asked || this.stopped) return;
    this.detail = next;
    this.options.onChange?.();
    this.timer = setTimeout(() => void this.readDetail(request, false), this.options.refreshMs ?? DETAIL_REFRESH_MS);
    this.timer.unref?.();
  }

  /** Fills the sparklines of machines not asked about before (in one request, one at a time). */
  fillSparklines(machines: Iterable<string>): void {
    for (const m of machines) {
      if (this.requested.has(m)) continue;
      this.requested.add(m);
      this.pending.push(m);
    }
    if (this.pending.length === 0 || this.sparkFetch || this.stopped) return;
    const batch = this.pending;
    this.pending = [];
    const { sparkPoints, sparkSinceMs } = this.options;
    this.sparkFetch = this.options.source
      .recentSparklines(batch, { points: sparkPoints, since: this.now() - sparkSinceMs })
      .then((found) => {
        if (this.stopped || found.size === 0) return;
        for (const [machine, points] of found) {
          this.sparklines.set(machine, points);
          this.sparklinesChanged.add(machine);
        }
        this.options.onChange?.();
      })
      .catch(() => {
        // Sparklines then fill from the live tail alone, as they would without a ledger.
      })
      .finally(() => {
        this.sparkFetch = null;
        if (this.pending.length > 0) this.fillSparklines([]);
      });
  }

  /** The machines whose sparkline history arrived since the last call. */
  drainSparklinesChanged(): ReadonlySet<string> {
    const changed = this.sparklinesChanged;
    this.sparklinesChanged = new Set();
    return changed;
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }
}
