import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { LogBehindLedgerError } from '../../../src/ledger/index.js';
import { encodeLedgerMetadata, type CommittedOffset } from '../../../src/worker/ledger-ownership.js';
import { PartitionRecovery, type LogOffsets } from '../../../src/worker/partition-recovery.js';
import { recordingLogger } from './recording-logger.js';

const ours = { id: 'ours', name: '/data/ledger.db on proc-1' };

/** A fake world: the ledger's offsets, the group's commits and the topic's logs, all editable. */
function world(init: { ledger?: Record<number, number>; logs: Record<number, LogOffsets>; committed?: CommittedOffset[] }) {
  const ledgerOffsets = new Map<number, number>(Object.entries(init.ledger ?? {}).map(([p, o]) => [Number(p), o]));
  const logs = new Map<number, LogOffsets>(Object.entries(init.logs).map(([p, l]) => [Number(p), l]));
  let committed = init.committed ?? [];
  const events: string[] = [];
  const fatals: Error[] = [];
  const logger = recordingLogger();
  const recovery = new PartitionRecovery({
    group: 'billing',
    topic: 't',
    ledger: {
      identity: ours,
      nextOffset: async (_g, _t, p) => ledgerOffsets.get(p),
      claimPartition: async (_g, _t, p, start) => {
        if (!ledgerOffsets.has(p)) ledgerOffsets.set(p, start);
        events.push(`claim ${p}@${start}`);
        return ledgerOffsets.get(p)!;
      },
    },
    kafka: { committed: async () => committed, logOffsets: async () => new Map(logs) },
    committer: {
      ack: (p, o) => events.push(`ack ${p}@${o}`),
      flush: async () => {
        events.push('flush');
        // What the committer sends: our claim, with our metadata.
        committed = [...committed.filter((c) => !events.some((e) => e.startsWith(`ack ${c.partition}@`))), ...[...ledgerOffsets].map(([partition, offset]) => ({ partition, offset, metadata: encodeLedgerMetadata(ours) }))];
      },
    },
    control: {
      seek: (p, o) => events.push(`seek ${p}@${o}`),
      pause: (p) => events.push(`pause ${p}`),
      resume: (p) => events.push(`resume ${p}`),
    },
    logger,
    fatal: (e) => fatals.push(e),
    recheckMs: 20,
  });
  return { recovery, events, fatals, logger, ledgerOffsets, logs, setCommitted: (c: CommittedOffset[]) => (committed = c) };
}

test('a partition the ledger never saw is claimed at the start of the log, whatever the group committed, then consumed from there', async () => {
  const w = world({ logs: { 0: { low: 40, high: 100 } } });
  w.recovery.assign([0]);
  assert.equal(await w.recovery.ready(0), true);
  assert.deepEqual(w.events, ['claim 0@40', 'seek 0@40', 'resume 0', 'ack 0@40', 'flush']);
  assert.equal(w.ledgerOffsets.get(0), 40, 'the starting offset is in the ledger before any batch');
  assert.equal(await w.recovery.ready(1), false, 'not assigned');
});

test('a known partition resumes from the ledger offset', async () => {
  const w = world({ ledger: { 0: 70 }, logs: { 0: { low: 0, high: 100 } } });
  w.recovery.assign([0]);
  assert.equal(await w.recovery.ready(0), true);
  assert.ok(w.events.includes('seek 0@70'));
  assert.ok(!w.events.some((e) => e.startsWith('claim')));
});

test('another ledger in the group: fatal before anything is claimed or consumed', async () => {
  const w = world({ logs: { 0: { low: 0, high: 10 }, 1: { low: 0, high: 10 } }, committed: [{ partition: 1, offset: 5, metadata: encodeLedgerMetadata({ id: 'theirs', name: 'other.db' }) }] });
  w.recovery.assign([0]);
  assert.equal(await w.recovery.ready(0), false);
  assert.equal(w.fatals.length, 1);
  assert.match(w.fatals[0]!.message, /into another ledger, other\.db/);
  assert.deepEqual(w.events, []);
});

test('of two ledgers starting at once, the one that sees the other after claiming stops', async () => {
  const w = world({ logs: { 0: { low: 0, high: 10 } } });
  // The other ledger's claim lands between our first look and our second.
  const recovery = w.recovery as unknown as { options: { committer: { flush: () => Promise<void> } } };
  const flush = recovery.options.committer.flush;
  recovery.options.committer.flush = async () => {
    await flush();
    w.setCommitted([{ partition: 1, offset: 0, metadata: encodeLedgerMetadata({ id: 'theirs', name: 'other.db' }) }]);
  };
  w.recovery.assign([0]);
  assert.equal(await w.recovery.ready(0), false);
  assert.equal(w.fatals.length, 1);
});

test('a log behind the ledger stops the partition with the recovery command, and it resumes once the ledger is reset', async () => {
  const w = world({ ledger: { 0: 500, 1: 3 }, logs: { 0: { low: 0, high: 20 }, 1: { low: 0, high: 10 } } });
  w.recovery.assign([0, 1]);
  assert.equal(await w.recovery.ready(0), false);
  assert.equal(await w.recovery.ready(1), true);
  assert.ok(w.events.includes('pause 0'));
  assert.ok(!w.events.includes('seek 0@500'));
  assert.match(w.recovery.stopped().get(0)!, /log ends at offset 20, behind the ledger's next offset 500/);
  const error = w.logger.lines.find((l) => l.level === 'error')!;
  assert.match(error.msg, /partition stopped: .*meter ledger offsets --ledger '\/data\/ledger\.db' --group billing --topic t --partition 0 --reset-to-log start/);
  // A second report of the same partition says nothing new.
  w.recovery.stop(new LogBehindLedgerError(0, 20, 500));
  assert.equal(w.logger.lines.filter((l) => l.level === 'error').length, 1);
  // The operator resets the ledger to the log's start: the partition comes back by itself.
  w.ledgerOffsets.set(0, 0);
  for (let i = 0; i < 50 && !(await w.recovery.ready(0)); i++) await sleep(20);
  assert.equal(await w.recovery.ready(0), true);
  assert.ok(w.events.includes('seek 0@0') && w.events.includes('resume 0'));
  w.recovery.close();
});

test('a batch ending below the ledger stops its partition only if the log ends below it now: a batch fetched before a takeover is stale', async () => {
  // The host was cut off with a batch in hand whose log ended at 2703; another worker billed on to 3342.
  const w = world({ ledger: { 0: 3342 }, logs: { 0: { low: 0, high: 4050 } } });
  w.recovery.assign([0]);
  assert.equal(await w.recovery.ready(0), true);
  assert.equal(await w.recovery.confirmBehind(new LogBehindLedgerError(0, 2703, 3342)), false);
  assert.equal(w.recovery.stopped().size, 0);
  assert.ok(!w.events.includes('pause 0'));
  assert.equal(w.logger.lines.filter((l) => l.level === 'error').length, 0);
  assert.match(w.logger.lines.find((l) => l.level === 'info' && /stale|skipped/.test(l.msg))!.msg, /fetched before the ledger moved on/);
  // The topic is re-created under it: the log's end read now is behind too, and that is what is reported.
  w.logs.set(0, { low: 0, high: 12 });
  assert.equal(await w.recovery.confirmBehind(new LogBehindLedgerError(0, 2703, 3342)), true);
  assert.match(w.recovery.stopped().get(0)!, /log ends at offset 12, behind the ledger's next offset 3342/);
  assert.ok(w.events.includes('pause 0'));
  w.recovery.close();
});

test('a batch ending below the ledger while the log end cannot be read: the partition stops, and resumes once the log is seen whole', async () => {
  const w = world({ ledger: { 0: 300 }, logs: { 0: { low: 0, high: 400 } } });
  w.recovery.assign([0]);
  assert.equal(await w.recovery.ready(0), true);
  const kafka = (w.recovery as unknown as { options: { kafka: { logOffsets: () => Promise<Map<number, LogOffsets>> } } }).options.kafka;
  const read = kafka.logOffsets;
  kafka.logOffsets = async () => {
    throw new Error('broker unreachable');
  };
  assert.equal(await w.recovery.confirmBehind(new LogBehindLedgerError(0, 200, 300)), true);
  assert.equal(await w.recovery.ready(0), false);
  kafka.logOffsets = read;
  for (let i = 0; i < 50 && !(await w.recovery.ready(0)); i++) await sleep(20);
  assert.equal(await w.recovery.ready(0), true);
  w.recovery.close();
});

test('a log that starts past the ledger (retention) is read from its start, and the gap is marked to be counted', async () => {
  const w = world({ ledger: { 0: 5 }, logs: { 0: { low: 50, high: 80 } } });
  w.recovery.assign([0]);
  assert.equal(await w.recovery.ready(0), true);
  assert.ok(w.events.includes('seek 0@50'));
  assert.equal(w.recovery.retentionGapUpTo(0), 50);
  assert.match(w.logger.text(), /deleted by retention.*"count":45/);
});
