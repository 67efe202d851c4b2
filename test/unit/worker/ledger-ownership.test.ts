import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MeterError } from '../../../src/cli/errors.js';
import { decodeLedgerMetadata, encodeLedgerMetadata, ownershipProblem } from '../../../src/worker/ledger-ownership.js';

const ours = { id: 'aaaa1111', name: '/var/lib/meter/ledger.db on proc-1' };
const theirs = { id: 'bbbb2222', name: 'postgres://meter@db:5432/billing' };
const ctx = { group: 'billing', topic: 'resource_usage', ours, assigned: new Set([0, 1]), known: new Set([0]) };

test('ledger metadata names the ledger and reads back; anything else names none', () => {
  assert.deepEqual(decodeLedgerMetadata(encodeLedgerMetadata(ours)), ours);
  assert.equal(decodeLedgerMetadata(null), null);
  assert.equal(decodeLedgerMetadata(''), null);
  assert.equal(decodeLedgerMetadata('meter-ledger:{not json'), null);
  assert.equal(decodeLedgerMetadata('meter-ledger:{"name":"x"}'), null);
  assert.ok(encodeLedgerMetadata({ id: 'x', name: 'n'.repeat(10_000) }).length < 1100, 'within Kafka metadata limits');
});

test('a partition committed by another ledger refuses the group in one line, exit 2, naming both ledgers', () => {
  const problem = ownershipProblem(
    [
      { partition: 0, offset: 10, metadata: encodeLedgerMetadata(ours) },
      // Not even assigned to us: two ledgers in one group is refused wherever it shows.
      { partition: 2, offset: 7, metadata: encodeLedgerMetadata(theirs) },
    ],
    ctx,
  );
  assert.ok(problem instanceof MeterError);
  assert.equal(problem.exitCode, 2);
  assert.doesNotMatch(problem.message, /\n/);
  assert.match(problem.message, /group billing bills resource_usage into another ledger, postgres:\/\/meter@db:5432\/billing \(partition 2\), not \/var\/lib\/meter\/ledger\.db on proc-1/);
  assert.match(problem.message, /same|that --ledger/);
  assert.match(problem.message, /its own --group/);
});

test('our own commits, nothing committed, and an older meter on a partition this ledger knows are fine', () => {
  assert.equal(
    ownershipProblem(
      [
        { partition: 0, offset: 10, metadata: '' },
        { partition: 1, offset: -1, metadata: null },
        { partition: 2, offset: 5, metadata: encodeLedgerMetadata(ours) },
      ],
      ctx,
    ),
    undefined,
  );
});

test('commits naming no ledger on an assigned partition this ledger never billed are refused', () => {
  const problem = ownershipProblem([{ partition: 1, offset: 99, metadata: '' }], ctx);
  assert.equal(problem?.exitCode, 2);
  assert.match(problem!.message, /partition 1 committed without a ledger's name/);
  // Not assigned to us: its owner will judge it.
  assert.equal(ownershipProblem([{ partition: 3, offset: 99, metadata: '' }], ctx), undefined);
});
