import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OffsetCommitter, type OffsetToCommit } from '../../../src/worker/offset-committer.js';
import { recordingLogger } from './recording-logger.js';

test('commits the highest acked offset of each assigned partition, with the ledger metadata', async () => {
  const commits: OffsetToCommit[][] = [];
  const committer = new OffsetCommitter({ topic: 't', metadata: 'meter-ledger:x', commit: async (o) => void commits.push(o), logger: recordingLogger() });
  committer.setAssigned([0, 1]);
  committer.ack(0, 10);
  committer.ack(0, 5); // an older result never moves it back
  committer.ack(1, 3);
  committer.ack(7, 100); // not ours
  await committer.flush();
  assert.deepEqual(commits, [
    [
      { topic: 't', partition: 0, offset: '10', metadata: 'meter-ledger:x' },
      { topic: 't', partition: 1, offset: '3', metadata: 'meter-ledger:x' },
    ],
  ]);
  await committer.flush();
  assert.equal(commits.length, 1, 'nothing new, nothing sent');
});

test('a failed commit is kept for the next one, unless the partition moved to another member', async () => {
  let fail = true;
  const commits: OffsetToCommit[][] = [];
  const committer = new OffsetCommitter({
    topic: 't',
    metadata: 'm',
    commit: async (o) => {
      if (fail) throw new Error('REBALANCE_IN_PROGRESS');
      commits.push(o);
    },
    logger: recordingLogger(),
  });
  committer.setAssigned([0, 1]);
  committer.ack(0, 10);
  committer.ack(1, 20);
  await committer.flush();
  assert.deepEqual([...committer.pending()], [
    [0, 10],
    [1, 20],
  ]);
  committer.setAssigned([1]);
  fail = false;
  await committer.flush();
  assert.deepEqual(commits, [[{ topic: 't', partition: 1, offset: '20', metadata: 'm' }]]);
});

test('flushes asked for while one runs join it', async () => {
  let release!: () => void;
  let calls = 0;
  const committer = new OffsetCommitter({
    topic: 't',
    metadata: 'm',
    commit: () => {
      calls++;
      return new Promise<void>((r) => (release = r));
    },
    logger: recordingLogger(),
  });
  committer.setAssigned([0]);
  committer.ack(0, 1);
  const a = committer.flush();
  const b = committer.flush();
  assert.equal(a, b);
  release();
  await a;
  assert.equal(calls, 1);
});
