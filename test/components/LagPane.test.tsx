import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LagPane } from '../../components/LagPane.js';
import { renderWithUi } from './render.js';
import { sampleSnapshot } from './fixtures.js';
import { lagRows } from '../../src/console/snapshot.js';

const lag = sampleSnapshot(3).lag;
const rows = lagRows(lag, { key: 'partition', reverse: false });

test('per partition: committed, end, lag, rate, catch-up, status and why; then the members', () => {
  const r = renderWithUi(<LagPane lag={lag} rows={rows} group="billing" width={110} height={12} selected={0} scroll={0} />);
  const lines = r.lines();
  assert.match(lines[0]!, /group billing \(Stable\) · total lag 1,260 · STALL/);
  assert.match(lines[1]!, /PARTITION +COMMITTED +END +LAG +RATE +CATCH-UP +STATUS +WHY +OWNER/);
  assert.match(lines[2]!, /^› +0 +1,200 +1,210 +10 +8\.0\/s +2s +OK +consuming +meter-worker/);
  assert.match(lines[3]!, /1 +900 +1,500 +600 +3\.0\/s +∞ +WARN +lag growing/);
  assert.match(lines[4]!, /2 +50 +700 +650 +0\/s +∞ +STALL +offset not moving/);
  assert.match(r.frame(), /MEMBERS \(1\)\n +meter-worker@127\.0\.0\.1 +partitions 0,1,2/);
});

test('narrow: optional columns go first, the status stays; no members says nothing consumes', () => {
  const none = { ...lag, members: [] };
  const r = renderWithUi(<LagPane lag={none} rows={rows} group="billing" width={48} height={10} selected={-1} scroll={0} active={false} />);
  assert.ok(r.widest() <= 48, r.frame());
  assert.ok(!r.frame().includes('OWNER'));
  assert.match(r.frame(), /STALL/);
  assert.match(r.frame(), /no live members/);
});

test('before the first poll it says it is reading; an error is shown beside the status', () => {
  const loading = renderWithUi(<LagPane lag={{ ...lag, state: 'loading', partitions: [] }} rows={[]} group="g" width={80} height={5} selected={0} scroll={0} />);
  assert.match(loading.frame(), /reading offsets…/);
  const failed = renderWithUi(<LagPane lag={{ ...lag, state: 'error', message: 'topic t not found yet' }} rows={rows} group="g" width={100} height={8} selected={0} scroll={0} />);
  assert.match(failed.lines()[0]!, /STALL · topic t not found yet/);
});

test('offsets the ledger will never bill are a warning on the summary line, with why and what to run', () => {
  const r = renderWithUi(<LagPane lag={lag} rows={rows} group="billing" width={160} height={12} selected={0} scroll={0} unbilled={{ lost: 1200, skipped: 34 }} />);
  assert.match(r.lines()[0]!, /STALL · ⚠ 1,234 offsets never billed \(1,200 lost to retention, 34 skipped by a reset\): meter ledger offsets$/);
  const lost = renderWithUi(<LagPane lag={lag} rows={rows} group="billing" width={160} height={12} selected={0} scroll={0} unbilled={{ lost: 5, skipped: 0 }} />);
  assert.match(lost.lines()[0]!, /⚠ 5 offsets never billed \(5 lost to retention\)/);
  const none = renderWithUi(<LagPane lag={lag} rows={rows} group="billing" width={160} height={12} selected={0} scroll={0} unbilled={{ lost: 0, skipped: 0 }} />);
  assert.doesNotMatch(none.frame(), /never billed/);
});
