// The PostgreSQL ledger's statements for price versions, closed periods and pruning. Each runs on a
// client the engine lends it; the writes run inside the engine's close lock (pg-ledger.ts), so no
// batch commits between their checks and their writes.
import type pg from 'pg';
import { MeterError } from '../../cli/errors.js';
import { StaleCloseError, type ClosedInvoiceRecord, type CloseFingerprint, type PruneState, type StoredPriceVersion } from '../ledger.js';
import { nextMonth } from '../time-buckets.js';

export async function priceVersions(client: pg.ClientBase): Promise<StoredPriceVersion[]> {
  const r = await client.query<{ effective_ms: bigint; digest: string; document: string; budgets: string | null; added_ms: bigint }>(
    'SELECT effective_ms, digest, document, budgets, added_ms FROM price_versions ORDER BY effective_ms',
  );
  return r.rows.map((row) => ({ effectiveFrom: Number(row.effective_ms), digest: row.digest, document: row.document, budgets: row.budgets, addedAt: Number(row.added_ms) }));
}

/** The start of the first period after the latest closed one (null: none closed). */
async function closedUntil(client: pg.ClientBase): Promise<number | null> {
  const r = await client.query<{ latest: bigint | null }>('SELECT MAX(period_ms) AS latest FROM closed_invoices');
  return r.rows[0]!.latest === null ? null : nextMonth(Number(r.rows[0]!.latest));
}

export async function addPriceVersion(
  client: pg.ClientBase,
  version: Omit<StoredPriceVersion, 'addedAt'>,
  check: (stored: StoredPriceVersion[], closedUntil: number | null) => void,
  now: number,
): Promise<boolean> {
  const existing = await priceVersions(client);
  if (existing.some((v) => v.digest === version.digest)) return false;
  check(existing, await closedUntil(client));
  await client.query('INSERT INTO price_versions (effective_ms, digest, document, budgets, added_ms) VALUES ($1, $2, $3, $4, $5)', [
    version.effectiveFrom,
    version.digest,
    version.document,
    version.budgets,
    now,
  ]);
  return true;
}

export async function closedInvoices(client: pg.ClientBase): Promise<ClosedInvoiceRecord[]> {
  const r = await client.query<{ period: string; period_ms: bigint; number: bigint; closed_ms: bigint; digest: string; document: string }>(
    'SELECT period, period_ms, number, closed_ms, digest, document FROM closed_invoices ORDER BY period_ms',
  );
  return r.rows.map((row) => ({
    period: row.period,
    periodStart: Number(row.period_ms),
    number: Number(row.number),
    closedAt: Number(row.closed_ms),
    digest: row.digest,
    document: row.document,
  }));
}

export async function closeFingerprint(client: pg.ClientBase, periodStart: number): Promise<CloseFingerprint> {
  const r = await client.query<{ samples: bigint; versions: bigint; closed: bigint; latest: bigint | null }>(
    `SELECT (SELECT COALESCE(SUM(samples), 0) FROM usage_monthly WHERE (month_ms = $1 AND adjusted_in = 0) OR adjusted_in = $1) AS samples,
            (SELECT COUNT(*) FROM price_versions) AS versions, (SELECT COUNT(*) FROM closed_invoices) AS closed,
            (SELECT MAX(period_ms) FROM closed_invoices) AS latest`,
    [periodStart],
  );
  const row = r.rows[0]!;
  return { samples: Number(row.samples), versions: Number(row.versions), closed: Number(row.closed), latestClosed: row.latest === null ? null : Number(row.latest) };
}

export async function closePeriod(client: pg.ClientBase, record: ClosedInvoiceRecord, expected: CloseFingerprint): Promise<void> {
  const now = await closeFingerprint(client, record.periodStart);
  if (JSON.stringify(now) !== JSON.stringify(expected)) throw new StaleCloseError('the ledger changed while the invoice was being closed');
  await client.query('INSERT INTO closed_invoices (period, period_ms, number, closed_ms, digest, document) VALUES ($1, $2, $3, $4, $5, $6)', [
    record.period,
    record.periodStart,
    record.number,
    record.closedAt,
    record.digest,
    record.document,
  ]);
}

export async function pruneState(client: pg.ClientBase): Promise<PruneState> {
  const r = await client.query<{ pruned_before: string | null; pruned: string | null; latest: bigint; samples: bigint }>(
    `SELECT (SELECT value FROM ledger_meta WHERE key = 'pruned_before') AS pruned_before,
            (SELECT value FROM ledger_meta WHERE key = 'pruned') AS pruned,
            (SELECT COALESCE(MAX(max_ts), 0) FROM offsets) AS latest, (SELECT COALESCE(SUM(samples), 0) FROM offsets) AS samples`,
  );
  const row = r.rows[0]!;
  return { prunedBefore: Number(row.pruned_before ?? 0), latestTimestamp: Number(row.latest), rawSamples: Number(row.samples) - Number(row.pruned ?? 0) };
}

/** Deletes up to `limit` raw samples starting before `before` (a closed period's), the horizon first. */
export async function prune(client: pg.ClientBase, before: number, limit: number): Promise<number> {
  const until = await closedUntil(client);
  if (until === null || before > until) {
    throw new MeterError(`cannot prune raw samples before ${new Date(before).toISOString()}: their period is not closed`);
  }
  await client.query(
    `INSERT INTO ledger_meta (key, value) VALUES ('pruned_before', $1) ON CONFLICT (key) DO UPDATE
     SET value = GREATEST(ledger_meta.value::bigint, excluded.value::bigint)::text`,
    [String(before)],
  );
  // Run by run through samples_by_run_start (there is no index on start alone).
  const r = await client.query('DELETE FROM samples WHERE ctid = ANY (ARRAY(SELECT s.ctid FROM runs r JOIN samples s ON s.run = r.id WHERE s.start_ms < $1 LIMIT $2))', [before, limit]);
  const deleted = r.rowCount ?? 0;
  if (deleted) {
    await client.query(
      `INSERT INTO ledger_meta (key, value) VALUES ('pruned', $1) ON CONFLICT (key) DO UPDATE SET value = (ledger_meta.value::bigint + excluded.value::bigint)::text`,
      [String(deleted)],
    );
  }
  return deleted;
}
