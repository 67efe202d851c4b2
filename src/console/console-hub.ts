// The console's data side: the three stores (live tail, ledger, admin lag), and a snapshot of them
// built at most every refreshMs when something changed (and at least once a second, for the clock).
// React subscribes to it as an external store; nothing in here knows about React.
import type { Kafka } from 'kafkajs';
import type { RateCard } from '../billing/index.js';
import { SnapshotBuilder } from './build-snapshot.js';
import { LagStore } from './lag-store.js';
import { LedgerStore } from './ledger-store.js';
import { emptySnapshot, type ConsoleSnapshot, type PipelineProblem, type SnapshotSource } from './snapshot.js';
import { TopicTail } from './tail-store.js';

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
  now?: () => number;
  /** Under `meter up`: the processes it runs, so the header can show one that died. */
  pipeline?: { problems(): PipelineProblem[] };
}

import { DEFAULT_LAG_POLL_MS, DEFAULT_LEDGER_POLL_MS, DEFAULT_MAX_POINTS } from './defaults.js';

export { DEFAULT_REFRESH_MS, DEFAULT_LAG_POLL_MS, DEFAULT_LEDGER_POLL_MS, DEFAULT_LAG_WINDOW_MS, DEFAULT_MAX_POINTS } from './defaults.js';

export class ConsoleHub implements SnapshotSource {
  readonly tail: TopicTail;
  readonly lag: LagStore;
  readonly ledger: LedgerStore;
  private readonly builder = new SnapshotBuilder();
  private snapshot: ConsoleSnapshot;
  private readonly listeners = new Set<() => void>();
  private dirty = true;
  private timer: NodeJS.Timeout | undefined;
  private lastBuiltSecond = 0;
  private detailMachine: string | null = null;
  private readonly now: () => number;
  /** Time spent building each snapshot and handing it to React, for the benchmark. */
  readonly frameTimes: number[] = [];
  /** When the last snapshot was handed out (performance.now()), until the screen shows it. */
  pendingFrameAt: number | null = null;
  /** Called as a snapshot is about to be handed out (the benchmark starts its frame clock). */
  onFrameStart: (() => void) | undefined;

  constructor(private readonly options: ConsoleHubOptions) {
    this.now = options.now ?? Date.now;
    const onChange = () => {
      this.dirty = true;
    };
    const maxPoints = options.maxPoints ?? DEFAULT_MAX_POINTS;
    this.tail = new TopicTail({
      kafka: options.kafka,
      topic: options.topic,
      // Enough history for the sparklines, without reading minutes of a big fleet at start.
      backfillMs: options.backfillMs ?? Math.min(maxPoints * options.intervalMs, 2 * 60_000),
      maxPoints,
      onChange,
      now: this.now,
    });
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
    this.ledger = new LedgerStore({
      path: options.ledgerPath,
      rateCard: options.rateCard,
      pollMs: options.ledgerPollMs ?? DEFAULT_LEDGER_POLL_MS,
      costBy: options.costBy,
      onChange,
      now: this.now,
    });
    this.snapshot = emptySnapshot({
      now: this.now(),
      topic: options.topic,
      group: options.group,
      intervalMs: options.intervalMs,
      ledger: { state: 'loading', path: options.ledgerPath, polledAt: null },
      fleet: { currency: options.rateCard.currency, costPerHour: null, periodCost: null, forecast: null, periodFrom: null, periodTo: null },
    });
  }

  getSnapshot = (): ConsoleSnapshot => this.snapshot;

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  };

  /** Starts the stores and the frame clock. The tail connects in the background. */
  start(): void {
    this.ledger.start();
    this.lag.start();
    void this.tail.start();
    const tick = () => {
      const now = this.now();
      const second = Math.floor(now / 1000);
      if (this.dirty || second !== this.lastBuiltSecond) this.refresh();
    };
    this.timer = setInterval(tick, this.options.refreshMs);
    this.timer.unref?.();
  }

  /** Builds a snapshot now and hands it to the subscribers. */
  refresh(): ConsoleSnapshot {
    if (this.pendingFrameAt === null) this.onFrameStart?.();
    const started = performance.now();
    const now = this.now();
    this.dirty = false;
    this.lastBuiltSecond = Math.floor(now / 1000);
    this.snapshot = this.build(now);
    this.pendingFrameAt ??= started;
    for (const listener of this.listeners) listener();
    this.frameTimes.push(performance.now() - started);
    if (this.frameTimes.length > 10_000) this.frameTimes.splice(0, 5000);
    return this.snapshot;
  }

  build(now = this.now()): ConsoleSnapshot {
    const { topic, group, intervalMs } = this.options;
    return this.builder.build({
      now,
      topic,
      group,
      intervalMs,
      tail: { machines: this.tail.machines, state: this.tail.state, message: this.tail.message, rate: this.tail.rate() },
      ledger: { view: this.ledger.view, machines: this.ledger.machines, costs: this.ledger.costs, fleet: this.ledger.fleet, budgets: this.ledger.budgets },
      pipeline: this.options.pipeline?.problems(),
      lag: { view: this.lag.view, health: this.lag.health },
      detailMachine: this.detailMachine,
    });
  }

  setCostBy(by: string): void {
    this.ledger.setCostBy(by);
  }

  /** The UI opened (or closed) a machine's detail view: its full history goes into the snapshots. */
  setDetail(machine: string | null): void {
    if (machine === this.detailMachine) return;
    this.detailMachine = machine;
    this.refresh();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.ledger.stop();
    await Promise.allSettled([this.tail.stop(), this.lag.stop()]);
  }
}
