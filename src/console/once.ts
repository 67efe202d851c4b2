// `meter console --once`: one snapshot, for scripts and for stdout that is not a terminal.
//
// How long it waits: the tail starts reading at (now - 3 intervals), so it does not need new samples;
// it is done when it has read up to the end offsets the topic had when it joined, the ledger has been
// read, and the lag has been read three times 300 ms apart (for rates and a status). It gives up
// after one interval plus 5 s (joining a consumer group alone can take 3 s on a stock broker) and
// reports what it has. The lag status is judged over that short window: offsets that do not move
// with nobody owning them are STOP; a STALL needs a member that did not commit for 600 ms, so a
// one-shot may call a slow committer stalled where the live console, judging 20 s, would not. The
// window is counted from the first lag reading, not from the start: on a busy machine the admin
// client's first reading can come 600 ms after the start, and a window of one reading says OK
// ("watching") where the offsets have stopped.
import type { ConsoleHub } from './console-hub.js';
import type { ConsoleSnapshot } from './snapshot.js';

export const ONCE_LAG_POLL_MS = 300;
export const ONCE_LAG_WINDOW_MS = 600;

export function onceDeadlineMs(intervalMs: number): number {
  return intervalMs + 5000;
}

/** Waits for the hub's stores as described above, then returns the snapshot. */
export async function collectOnce(hub: ConsoleHub, intervalMs: number): Promise<{ snapshot: ConsoleSnapshot; complete: boolean; everConnected: boolean }> {
  const started = Date.now();
  const deadline = started + onceDeadlineMs(intervalMs);
  let everConnected = false;
  let firstLagAt: number | null = null;
  hub.start();
  for (;;) {
    await new Promise((r) => setTimeout(r, 50));
    const lag = hub.lag.view;
    if (hub.lag.health.state === 'connected') everConnected = true;
    let lagDone = false;
    if (lag.state === 'ok' && lag.polledAt !== null) {
      firstLagAt ??= lag.polledAt;
      lagDone = lag.polledAt - firstLagAt >= ONCE_LAG_WINDOW_MS;
    }
    const ledgerDone = hub.ledger.view.state !== 'loading';
    const tailDone = hub.tail.caughtUp();
    if (lagDone && ledgerDone && tailDone) return { snapshot: hub.refresh(), complete: true, everConnected };
    if (Date.now() >= deadline) return { snapshot: hub.refresh(), complete: false, everConnected };
  }
}

const round1 = (v: number | null) => (v === null ? null : Math.round(v * 10) / 10);

/** The DESIGN.md contract: {machines: [...], lag: [...], totals}. */
export function onceJson(snapshot: ConsoleSnapshot) {
  const machines = [...snapshot.machines]
    .sort((a, b) => (a.machine < b.machine ? -1 : a.machine > b.machine ? 1 : 0))
    .map((m) => ({
      machine: m.machine,
      cpu: round1(m.cpu),
      mem: round1(m.mem),
      lastSeen: m.lastSeen === null ? null : new Date(m.lastSeen).toISOString(),
      stale: m.stale,
      costPerHour: m.costPerHour,
      periodCost: m.periodCost,
    }));
  const lag = snapshot.lag.partitions.map((p) => ({
    topic: p.topic,
    partition: p.partition,
    committed: p.committed,
    end: p.end,
    lag: p.lag,
    status: p.status,
  }));
  const ledgerOk = snapshot.ledger.state === 'ok';
  const totals = {
    at: new Date(snapshot.now).toISOString(),
    machines: machines.length,
    stale: machines.filter((m) => m.stale).length,
    currency: snapshot.fleet.currency,
    costPerHour: ledgerOk ? snapshot.fleet.costPerHour : null,
    periodCost: ledgerOk ? snapshot.fleet.periodCost : null,
    forecast: ledgerOk ? snapshot.fleet.forecast : null,
    forecastLower: ledgerOk ? snapshot.fleet.forecastLower : null,
    forecastUpper: ledgerOk ? snapshot.fleet.forecastUpper : null,
    forecastLevel: ledgerOk ? snapshot.fleet.forecastLevel : null,
    forecastShortHistory: ledgerOk && snapshot.fleet.forecastShortHistory,
    whatIf: snapshot.fleet.whatIf,
    periodFrom: snapshot.fleet.periodFrom === null ? null : new Date(snapshot.fleet.periodFrom).toISOString(),
    periodTo: snapshot.fleet.periodTo === null ? null : new Date(snapshot.fleet.periodTo).toISOString(),
    lag: snapshot.lag.totalLag,
    lagStatus: snapshot.lag.status,
    topic: snapshot.topic,
    group: snapshot.group,
    broker: snapshot.broker.state,
    ledger: ledgerOk ? 'ok' : (snapshot.ledger.message ?? snapshot.ledger.state),
  };
  return { machines, lag, totals };
}
