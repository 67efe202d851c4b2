// What the status line, the progress log and --metrics read: lag from the ledger's offsets, counts
// from committed batches, and the Prometheus text they make.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LagTracker } from '../../../src/worker/lag.js';
import { WorkerStats, countedDlqCodes } from '../../../src/worker/worker-stats.js';
import { workerRegistry } from '../../../src/worker/worker-metrics.js';
import { Progress } from '../../../src/worker/progress.js';
import { StatusLine } from '../../../src/worker/status.js';
import { recordingLogger } from './recording-logger.js';
import { parsePrometheus, sampleValue } from '../../helpers/prometheus.js';

const result = (nextOffset: number, inserted = 10, extra: Partial<{ duplicates: number; rejected: number; skipped: number }> = {}) => ({
  inserted,
  duplicates: 0,
  skipped: 0,
  rejected: 0,
  nextOffset,
  prunedBefore: 0,
  ...extra,
});

test('lag: end minus the ledger, per partition held; admission sets, results only move it forward', () => {
  const lag = new LagTracker();
  lag.assign([2, 0]);
  assert.deepEqual(lag.partitions(), [0, 2]);
  lag.logEndSeen(0, 500);
  assert.equal(lag.lagOf(0).lag, undefined, 'unknown until the ledger offset is known');
  lag.ledgerAdmitted(0, 100);
  assert.equal(lag.lagOf(0).lag, 400);
  lag.ledgerApplied(0, 300);
  lag.ledgerApplied(0, 200); // a late result of an older batch
  assert.equal(lag.lagOf(0).lag, 200);
  lag.ledgerAdmitted(0, 50); // the recovery command moved the ledger back
  assert.equal(lag.lagOf(0).lag, 450);
  lag.logEndSeen(0, 400); // an older batch's high watermark never lowers it
  assert.equal(lag.lagOf(0).logEnd, 500);
  lag.logEndsRead(new Map([[0, 40], [1, 99]])); // a read replaces it (a re-created topic); partition 1 is not ours
  assert.equal(lag.lagOf(0).lag, 0, 'never below 0');
  assert.equal(lag.lagOf(1).logEnd, undefined);
  lag.ledgerAdmitted(2, 10);
  lag.logEndsRead(new Map([[0, 1050], [2, 15]]));
  assert.equal(lag.total(), 1000 + 5);
  lag.assign([2]);
  assert.deepEqual(lag.all(), [{ partition: 2, logEnd: 15, ledgerNext: 10, lag: 5 }]);
  lag.assign([0]);
  assert.deepEqual(lag.all(), [{ partition: 0, logEnd: undefined, ledgerNext: undefined, lag: undefined }], 'a partition that comes back starts afresh');
});

test('the DLQ codes counted are those of the highest offsets: the ledger skipped the lowest', () => {
  const rejects = [
    { offset: 13, code: 'empty' },
    { offset: 10, code: 'not-json' },
    { offset: 11, code: 'bad-version' },
  ];
  assert.deepEqual(countedDlqCodes(rejects, 0), []);
  assert.deepEqual(countedDlqCodes(rejects, 3).sort(), ['bad-version', 'empty', 'not-json']);
  assert.deepEqual(countedDlqCodes(rejects, 2).sort(), ['bad-version', 'empty']);
});

test('stats add up committed batches; the snapshot shows them with lag', () => {
  let now = 1_000_000;
  const stats = new WorkerStats(() => now);
  stats.assigned([0, 1]);
  stats.lag.ledgerAdmitted(0, 0);
  stats.lag.ledgerAdmitted(1, 0);
  stats.lag.logEndsRead(new Map([[0, 1000], [1, 1000]]));
  const seen: number[] = [];
  stats.observeTransaction = (s) => seen.push(s);
  for (let i = 1; i <= 20; i++) {
    now += 500;
    stats.batchApplied({ partition: i % 2, result: result(Math.ceil(i / 2) * 50, 50), dlqCodes: [], seconds: 0.01 });
  }
  stats.batchApplied({ partition: 0, result: result(500, 0, { rejected: 2, duplicates: 3 }), dlqCodes: ['empty', 'empty'] });
  const s = stats.snapshot(now);
  assert.equal(s.inserted, 1000);
  assert.equal(s.duplicates, 3);
  assert.equal(s.dlq, 2);
  assert.deepEqual(Object.fromEntries(stats.dlqByReason), { empty: 2 });
  assert.equal(s.batches, 21);
  assert.equal(s.lag, 500 + 500);
  assert.deepEqual(s.partitions.map((p) => p.lag), [500, 500]);
  assert.ok(Math.abs(s.samplesPerSecond - 100) < 2, `${s.samplesPerSecond}`);
  assert.equal(seen.length, 20);
  assert.equal(stats.rebalances, 1);
});

test('the registry reads the stats at each scrape, and prometheus_client parses what it serves', async () => {
  const stats = new WorkerStats();
  const registry = workerRegistry(stats, { group: 'billing', topic: 'usage' });
  stats.assigned([0, 1]);
  stats.lag.ledgerAdmitted(0, 10);
  stats.lag.logEndsRead(new Map([[0, 25], [1, 7]]));
  stats.batchApplied({ partition: 0, result: result(20, 8, { rejected: 2 }), dlqCodes: ['not-json', 'empty'], seconds: 0.02 });
  stats.ledgerErrors = 1;
  stats.brokerAnswering = true;
  stats.stoppedPartitions = () => new Map([[0, "partition 0's log ends at offset 3, behind the ledger's next offset 22"]]);
  let text = await registry.metrics();
  stats.batchApplied({ partition: 0, result: result(22, 1, { rejected: 1 }), dlqCodes: ['empty'], seconds: 0.5 });
  stats.lag.assign([0]);
  text = await registry.metrics();
  const families = parsePrometheus(text);
  const value = (name: string, labels: Record<string, string> = {}) => sampleValue(families, name, labels);
  assert.equal(value('meter_worker_samples_inserted_total'), 9);
  assert.equal(value('meter_worker_dlq_messages_total', { reason: 'empty' }), 2);
  assert.equal(value('meter_worker_dlq_messages_total', { reason: 'not-json' }), 1);
  assert.equal(value('meter_worker_batches_total'), 2);
  assert.equal(value('meter_worker_ledger_errors_total'), 1);
  assert.equal(value('meter_worker_rebalances_total'), 1);
  assert.equal(value('meter_worker_lag_messages', { partition: '0', group: 'billing', topic: 'usage' }), 3);
  assert.equal(value('meter_worker_lag_messages', { partition: '1' }), undefined, 'partition 1 moved away');
  assert.equal(value('meter_worker_ledger_next_offset', { partition: '0' }), 22);
  assert.equal(value('meter_worker_log_end_offset', { partition: '0' }), 25);
  assert.equal(value('meter_worker_partitions_assigned'), 1);
  assert.equal(value('meter_worker_broker_connected'), 1);
  assert.equal(value('meter_worker_partitions_stopped'), 1);
  assert.equal(families['meter_worker_transaction_seconds']!.type, 'histogram');
  assert.equal(value('meter_worker_transaction_seconds_count'), 2);
  assert.ok(Math.abs(value('meter_worker_transaction_seconds_sum')! - 0.52) < 1e-9);
  assert.equal(value('meter_worker_transaction_seconds_bucket', { le: '0.025' }), 1);
  assert.ok(families['process_cpu_seconds']?.samples.length, "prom-client's process metrics");
});

test('progress: the status line and the log show the same figures, and lag keeps moving while nothing is applied', async () => {
  let now = 5_000_000;
  const stats = new WorkerStats(() => now);
  stats.assigned([0]);
  stats.lag.ledgerAdmitted(0, 0);
  let end = 100;
  let fail = false;
  const logger = recordingLogger();
  let drawn = '';
  const tty = Object.assign(Object.create(process.stderr) as NodeJS.WriteStream, { write: (chunk: string) => ((drawn = chunk), true), columns: 201, isTTY: true });
  const line = new StatusLine(tty);
  const options = {
    group: 'g',
    topic: 't',
    stats,
    readLogEnds: async () => {
      if (fail) throw new Error('broker away');
      return new Map([[0, end]]);
    },
    logger,
    now: () => now,
  };
  const onTty = new Progress({ ...options, statusLine: line });
  const logged = new Progress({ ...options, intervalMs: 10_000 });
  await onTty.refreshLogEnds();
  onTty.tick(now);
  logged.tick(now);
  assert.match(drawn, /lag 100 /);
  assert.equal(logger.lines.at(-1)!.fields!.lag, 100);
  // The ledger is stuck; the topic grows: lag grows with it.
  end = 5000;
  now += 10_000;
  await logged.refreshLogEnds();
  logged.tick(now);
  assert.equal(logger.lines.at(-1)!.fields!.lag, 5000);
  assert.deepEqual(logger.lines.at(-1)!.fields!.lagByPartition, { 0: 5000 });
  // The broker goes away: said once, lag holds the last reading.
  fail = true;
  await logged.refreshLogEnds();
  await logged.refreshLogEnds();
  assert.equal(logger.lines.filter((l) => /cannot read the topic end offsets/.test(l.msg)).length, 1);
  assert.equal(stats.brokerAnswering, false);
  assert.equal(stats.snapshot().lag, 5000);
  onTty.stop();
  logged.stop();
});
