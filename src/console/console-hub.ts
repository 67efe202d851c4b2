// The console's data side: the three stores (live tail, ledger, admin lag), and a snapshot of them
// built at most every refreshMs when something changed (and at least once a second, for the clock).
// React subscribes to it as an external store; nothing in here knows about React.
import type { Kafka } from 'kafkajs';
import type { RateCard } from '../billing/index.js';
import { SnapshotBuilder, type SnapshotInputs } from './build-snapshot.js';
import { FleetOrder } from './fleet-order.js';
import { LagStore } from './lag-store.js';
import { LedgerStore, type LedgerSource, type LedgerStoreOptions } from './ledger-store.js';
import { emptyFleetTotals, emptySnapshot, pricesAreWhatIf, type ConsoleSnapshot, type PipelineProblem, type SnapshotSource } from './snapshot.js';
import { liveSource, type LiveFrom } from './live-source.js';
import type { LiveSource } from './machine-traces.js';
import { DETAIL_REFRESH_MS, HistoryStore, type DetailRequest } from './history-store.js';
import type { HistoryPoint, HistorySource } from './history.js';
import { billingPeriod } from '../billing/index.js';
import { STALE_INTERVALS } from './build-snapshot.js';
import { SPARK_POINTS } from './snapshot.js';

export interface ConsoleHubOptions {
  kafka: Kafka;
  topic: string;
  group: string;
  ledgerPath: string;
  rateCard: RateCard;
  /** The agents' sample interval: staleness is 3 of them. */
  intervalMs: number;
  /** Milliseconds between snapshots (frames) at most. */
  refreshMs: number;
  costBy: string;
  lagPollMs?: number;
  ledgerPollMs?: number;
  /** Burrow window for the lag status. */
  lagWindowMs?: number;
  /** How far back the tail starts reading, and how many samples it keeps per machine. */
  backfillMs?: number;
  maxPoints?: number;
  /** A one-shot: the tail fetches what is there at once instead of batching a second of traffic. */
  eagerTail?: boolean;
  now?: () => number;
  /** Under `meter up`: the processes it runs, so the header can show one that died. */
  pipeline?: { problems(): PipelineProblem[] };
  /**
   * History from the ledger for the detail view and the sparklines. Without one, the detail view
   * shows what the live tail saw, and the tail reads further back to fill the sparklines itself.
   */
  history?: HistorySource;
  /**
   * Where the ledger's read model comes from: by default a LedgerStore in this thread (--once,
   * tests); the live console passes one whose reads run on a thread of their own (ledger-reader.ts),
   * which calls changed() when its state moves.
   */
  ledgerSource?: LedgerSource;
  /**
   * Where the machines' recent samples come from: the ledger's accepted samples (a SQLite ledger,
   * ledger-tail.ts) or every message of the topic (tail-store.ts); see live-source.ts.
   */
  liveFrom?: LiveFrom;
}

import { DEFAULT_LAG_POLL_MS, DEFAULT_LEDGER_POLL_MS, DEFAULT_MAX_POINTS } from './defaults.js';

export { DEFAULT_REFRESH_MS, DEFAULT_LAG_POLL_MS, DEFAULT_LEDGER_POLL_MS, DEFAULT_LAG_WINDOW_MS, DEFAULT_MAX_POINTS } from './defaults.js';

const NO_SPARKLINES: ReadonlyMap<string, readonly HistoryPoint[]> = new Map();

/** Changed machines that make a burst worth preparing between frames (see prepareSoon). */
const PREPARE_AT = 1000;

export class ConsoleHub implements SnapshotSource {
  readonly tail: LiveSource;
  private readonly liveFrom: LiveFrom;
  readonly lag: LagStore;
  readonly ledger: LedgerSource;
  private readonly builder = new SnapshotBuilder();
  private snapshot: ConsoleSnapshot;
  private readonly listeners = new Set<() => void>();
  private dirty = true;
  private timer: NodeJS.Timeout | undefined;
  /**
   * The fleet's order for the screen: kept here so a burst's rows are placed in it between frames as
   * they are brought up to date (the screen's order, told by setFleetOrder), not all in one frame.
   */
  readonly fleetOrder = new FleetOrder();
  private screenOrder: { filter: string; sort: { key: string; reverse: boolean } } | null = null;
  /** The next step of a burst's rows (prepareSoon). */
  private preparing: NodeJS.Immediate | undefined;
  private lastBuiltSecond = 0;
  private detailRequest: DetailRequest | null = null;
  readonly history: HistoryStore | null;
  private readonly now: () => number;
  /** Time spent building each snapshot and handing it to React, for the benchmark. */
  readonly frameTimes: number[] = [];
  /**
   * Of the last frame, for the benchmark: the snapshot's build, and React's render after it (it runs in
   * a microtask queued as the snapshot is handed out; ink's layout and output too when not throttled).
   */
  lastBuildMs = 0;
  lastRenderMs = 0;
  /** When the last snapshot was handed out (performance.now()), until the screen shows it. */
  pendingFrameAt: number | null = null;
  /**
   * False from a hand-out until React's render of it has settled (the microtask after it): a draw
   * seen after that was put off by ink's throttle, not drawn with the render (for --stats-file).
   */
  renderSettled = true;
  /** Called as a snapshot is about to be handed out (the benchmark starts its frame clock). */
  onFrameStart: (() => void) | undefined;

  constructor(private readonly options: ConsoleHubOptions) {
    this.now = options.now ?? Date.now;
    this.liveFrom = options.liveFrom ?? 'topic';
    const onChange = () => {
      this.dirty = true;
    };
    // With a history source the detail view's chart comes from the ledger (re-read every
    // DETAIL_REFRESH_MS), so the tail keeps only what the sparklines show and what arrives between
    // two reads: at 10,000 machines, 120 points each was a large part of the heap the GC walks.
    const maxPoints =
      options.maxPoints ?? (options.history ? Math.max(SPARK_POINTS, Math.ceil((2 * DETAIL_REFRESH_MS) / options.intervalMs)) : DEFAULT_MAX_POINTS);
    this.history = options.history
      ? new HistoryStore({
          source: options.history,
          period: (now) => billingPeriod(now),
          sparkPoints: SPARK_POINTS,
          sparkSinceMs: 2 * SPARK_POINTS * options.intervalMs,
          onChange,
          now: this.now,
        })
      : null;
    // Enough for staleness and the sparklines, without reading minutes of a big fleet's messages at
    // start; with a history source the sparklines come from it, and a few intervals are enough. The
    // ledger's rows are cheap to read (about 1 us each), so its tail starts with full traces: ones
    // that grow to maxPoints over the first two minutes make new storage the collector must promote.
    const fullTraces = Math.min(maxPoints * options.intervalMs, 2 * 60_000);
    const backfill = options.history && this.liveFrom === 'topic' ? (STALE_INTERVALS + 1) * options.intervalMs : fullTraces;
    const onTailChange = () => {
      onChange();
      this.prepareSoon();
    };
    const backfillMs = options.backfillMs ?? backfill;
    this.tail = liveSource(this.liveFrom, { ...options, backfillMs, maxPoints, onChange: onTailChange, now: this.now });
    const lagPollMs = options.lagPollMs ?? DEFAULT_LAG_POLL_MS;
    this.lag = new LagStore({
      kafka: options.kafka,
      topic: options.topic,
      group: options.group,
      pollMs: lagPollMs,
      windowMs: options.lagWindowMs ?? 10 * lagPollMs,
      onChange,
      now: this.now,
    });
    const ledgerOptions: LedgerStoreOptions = {
      path: options.ledgerPath,
      rateCard: options.rateCard,
      pollMs: options.ledgerPollMs ?? DEFAULT_LEDGER_POLL_MS,
      costBy: options.costBy,
      onChange,
      now: this.now,
    };
    this.ledger = options.ledgerSource ?? new LedgerStore(ledgerOptions);
    this.snapshot = emptySnapshot({
      now: this.now(),
      topic: options.topic,
      group: options.group,
      intervalMs: options.intervalMs,
      liveFrom: this.liveFrom,
      ledger: { state: 'loading', path: options.ledgerPath, polledAt: null },
      fleet: emptyFleetTotals(options.rateCard.currency, pricesAreWhatIf(options.rateCard)),
    });
  }

  getSnapshot = (): ConsoleSnapshot => this.snapshot;

  /** A store's data changed: the next tick builds a snapshot. */
  changed(): void {
    this.dirty = true;
  }

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  };

  /** Starts the stores and the frame clock. The tail connects in the background. */
  start(): void {
    // Kafka first: its connections and the group join go on while the ledger is read.
    void this.tail.start();
    this.lag.start();
    this.ledger.start();
    const tick = () => {
      const now = this.now();
      const second = Math.floor(now / 1000);
      if (this.dirty || second !== this.lastBuiltSecond) this.refresh();
    };
    this.timer = setInterval(tick, this.options.refreshMs);
    this.timer.unref?.();
  }

  /**
   * A burst of the tail's samples (a fleet whose samples arrive together) has its rows brought up to
   * date, and placed in the screen's order, in steps between frames (setImmediate, so keys and
   * messages go between them), not all in the next frame. Only while the live console runs (start()),
   * and only for bursts: a trickle waits for the frame.
   */
  private prepareSoon(): void {
    if (!this.timer || this.preparing || this.tail.changedCount < PREPARE_AT) return;
    const step = () => {
      // Changes landing meanwhile are drained into the builder by the next step (or the next frame).
      this.preparing = undefined;
      this.builder.advance(this.inputs(this.now()));
      if (this.builder.tailPending) {
        this.preparing = setImmediate(step);
        return;
      }
      // The burst's rows are up to date: placed in the screen's order once (each placing allocates
      // the fleet's order anew: at every step it was more garbage for the collector than it saved).
      const order = this.screenOrder;
      if (order) this.fleetOrder.rows(this.builder.currentMachines, order.filter, order.sort);
    };
    this.preparing = setImmediate(step);
  }

  /** Builds a snapshot now and hands it to the subscribers. */
  refresh(): ConsoleSnapshot {
    if (this.pendingFrameAt === null) this.onFrameStart?.();
    const started = performance.now();
    const now = this.now();
    this.dirty = false;
    this.lastBuiltSecond = Math.floor(now / 1000);
    this.snapshot = this.build(now);
    this.lastBuildMs = performance.now() - started;
    this.pendingFrameAt ??= started;
    this.renderSettled = false;
    for (const listener of this.listeners) listener();
    const handedOut = performance.now();
    queueMicrotask(() => {
      this.lastRenderMs = performance.now() - handedOut;
      this.renderSettled = true;
    });
    this.frameTimes.push(handedOut - started);
    if (this.frameTimes.length > 10_000) this.frameTimes.splice(0, 5000);
    return this.snapshot;
  }

  build(now = this.now()): ConsoleSnapshot {
    return this.builder.build(this.inputs(now));
  }

  /** What the stores hold now, with what changed since the last build or step (drained). */
  private inputs(now: number): SnapshotInputs {
    const { topic, group, intervalMs } = this.options;
    return {
      now,
      topic,
      group,
      intervalMs,
      tail: { machines: this.tail.machines, changed: this.tail.drainChanged(), state: this.tail.state, message: this.tail.message, rate: this.tail.rate(), source: this.liveFrom },
      ledger: {
        view: this.ledger.view,
        machines: this.ledger.machines,
        changed: this.ledger.drainChanged?.(),
        costs: this.ledger.costs,
        fleet: this.ledger.fleet,
        budgets: this.ledger.budgets,
      },
      pipeline: this.options.pipeline?.problems(),
      lag: { view: this.lag.view, health: this.lag.health },
      history: {
        request: this.detailRequest,
        answer: this.history?.detail ?? null,
        hasSource: this.history !== null,
        sparklines: this.history?.sparklines ?? NO_SPARKLINES,
        sparklinesChanged: this.history?.drainSparklinesChanged(),
        period: billingPeriod(now),
      },
    };
  }

  /** The screen shows these machines: their sparklines are filled from history (once each). */
  showing(machines: readonly string[]): void {
    this.history?.fillSparklines(machines);
  }

  /** The screen orders the fleet so: bursts are placed in that order between frames. */
  setFleetOrder(filter: string, sort: { key: string; reverse: boolean }): void {
    this.screenOrder = { filter, sort: { key: sort.key, reverse: sort.reverse } };
  }

  setCostBy(by: string): void {
    this.ledger.setCostBy(by);
  }

  /** The UI opened, changed or closed (null) the detail view: its history goes into the snapshots. */
  setDetail(request: DetailRequest | null): void {
    const current = this.detailRequest;
    if (request === current || (request && current && request.machine === current.machine && request.range === current.range && request.chartColumns === current.chartColumns)) return;
    this.detailRequest = request;
    this.history?.setDetail(request);
    this.refresh();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    if (this.preparing) clearImmediate(this.preparing);
    this.timer = this.preparing = undefined;
    this.history?.stop();
    this.ledger.stop();
    await Promise.allSettled([this.tail.stop(), this.lag.stop()]);
  }
}
