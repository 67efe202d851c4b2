// Offsets and lag of the billing group, from the admin API, polled: end offsets of the topic, the
// group's committed offsets and its members with their assignments. Each poll feeds the offset
// history that the Burrow-style rules (lag-status.ts) judge. Whether the last poll worked is also the
// console's view of the broker: connected, or reconnecting since when.
import { AssignerProtocol, type Admin, type Kafka } from 'kafkajs';
import { evaluatePartition, OffsetHistory, worstStatus, lagOf } from './lag-status.js';
import type { GroupMemberRow, LagPartitionRow, LagView } from './snapshot.js';
import { firstLine } from './tail-store.js';
import { isUnknownTopic } from './kafka-errors.js';
import { allSettled } from '../kafka/settled.js';

export interface LagStoreOptions {
  kafka: Kafka;
  topic: string;
  group: string;
  pollMs: number;
  /** The Burrow window: STALL and STOP need offsets unchanged this long. */
  windowMs: number;
  onChange?: () => void;
  now?: () => number;
}

export interface BrokerHealth {
  state: 'connecting' | 'connected' | 'reconnecting';
  /** When the current state began (for "reconnecting 12s"). */
  since: number | null;
  message?: string;
}

/** One reading of the offsets, as the admin API gave it. */
export interface OffsetReading {
  at: number;
  ends: Map<number, number>;
  committed: Map<number, number | null>;
  groupState: string;
  members: GroupMemberRow[];
}

/** Reads the offsets, committed offsets and members of `group` on `topic` once. */
export async function readOffsets(admin: Admin, topic: string, group: string, at: number): Promise<OffsetReading> {
  const [ends, committed, described] = await allSettled([
    admin.fetchTopicOffsets(topic),
    admin.fetchOffsets({ groupId: group, topics: [topic] }),
    admin.describeGroups([group]),
  ] as const);
  const committedMap = new Map<number, number | null>();
  for (const t of committed) {
    if (t.topic !== topic) continue;
    for (const p of t.partitions) committedMap.set(p.partition, Number(p.offset) < 0 ? null : Number(p.offset));
  }
  const description = described.groups[0];
  const members: GroupMemberRow[] = (description?.members ?? []).map((m) => {
    let partitions: number[] = [];
    try {
      const decoded = m.memberAssignment?.length ? AssignerProtocol.MemberAssignment.decode(m.memberAssignment) : null;
      partitions = [...(decoded?.assignment[topic] ?? [])].sort((a, b) => a - b);
    } catch {
      // A member of another protocol: no partitions we can read.
    }
    return { memberId: m.memberId, clientId: m.clientId, host: m.clientHost, partitions };
  });
  return {
    at,
    ends: new Map(ends.map((e) => [e.partition, Number(e.high)])),
    committed: committedMap,
    groupState: description?.state ?? 'Unknown',
    members,
  };
}

/** Turns a reading plus the history into the lag pane's view. Pure apart from recording the reading. */
export function lagViewFrom(reading: OffsetReading, history: OffsetHistory, topic: string, windowMs: number): LagView {
  const owners = new Map<number, string>();
  for (const m of reading.members) for (const p of m.partitions) owners.set(p, m.clientId);
  const partitions: LagPartitionRow[] = [];
  for (const [partition, end] of [...reading.ends].sort((a, b) => a[0] - b[0])) {
    const committed = reading.committed.get(partition) ?? null;
    history.record(partition, { at: reading.at, committed, end, owned: owners.has(partition) });
    const verdict = evaluatePartition(history.observations(partition), windowMs);
    partitions.push({
      topic,
      partition,
      committed,
      end,
      lag: lagOf({ committed, end }),
      status: verdict.status,
      reason: verdict.reason,
      consumeRate: verdict.consumeRate,
      catchUpSeconds: verdict.catchUpSeconds,
      owner: owners.get(partition) ?? null,
    });
  }
  history.retain(reading.ends.keys());
  return {
    state: 'ok',
    groupState: reading.groupState,
    partitions,
    members: reading.members,
    totalLag: partitions.reduce((sum, p) => sum + (p.lag ?? 0), 0),
    status: worstStatus(partitions.map((p) => p.status)),
    polledAt: reading.at,
  };
}

export class LagStore {
  view: LagView = { state: 'loading', groupState: 'Unknown', partitions: [], members: [], totalLag: 0, status: 'OK', polledAt: null };
  health: BrokerHealth = { state: 'connecting', since: null };
  private admin: Admin | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private polling: Promise<void> | undefined;
  private readonly history: OffsetHistory;
  private readonly now: () => number;

  constructor(private readonly options: LagStoreOptions) {
    this.now = options.now ?? Date.now;
    this.history = new OffsetHistory(options.windowMs * 2);
    this.health.since = this.now();
  }

  start(): void {
    this.stopped = false;
    const loop = async () => {
      if (this.stopped) return;
      this.polling = this.poll();
      await this.polling;
      if (this.stopped) return;
      this.timer = setTimeout(loop, this.options.pollMs);
      this.timer.unref?.();
    };
    void loop();
  }

  /** One poll now; the regular ones go on. */
  async poll(): Promise<void> {
    const { kafka, topic, group, windowMs } = this.options;
    try {
      if (!this.admin) {
        // Few retries: a dead broker should show as "reconnecting" within seconds, not minutes.
        this.admin = kafka.admin({ retry: { retries: 1, initialRetryTime: 300, maxRetryTime: 1000 } });
        await this.admin.connect();
      }
      const reading = await readOffsets(this.admin, topic, group, this.now());
      this.view = lagViewFrom(reading, this.history, topic, windowMs);
      if (this.health.state !== 'connected') this.health = { state: 'connected', since: this.now() };
    } catch (error) {
      const message = firstLine(error);
      const topicMissing = isUnknownTopic(error);
      this.view = { ...this.view, state: 'error', message: topicMissing ? `topic ${topic} not found yet` : message };
      if (topicMissing) {
        // The broker answered: connected, there is just nothing to show yet.
        if (this.health.state !== 'connected') this.health = { state: 'connected', since: this.now() };
      } else {
        if (this.health.state !== 'reconnecting') this.health = { state: 'reconnecting', since: this.now(), message };
        else this.health = { ...this.health, message };
        // Start over with a fresh connection next time.
        const admin = this.admin;
        this.admin = undefined;
        await admin?.disconnect().catch(() => {});
      }
    }
    this.options.onChange?.();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.polling?.catch(() => {});
    await this.admin?.disconnect().catch(() => {});
    this.admin = undefined;
  }
}
