// What each `meter invoice` action prints: the invoice (table, CSV or JSON), a close, a verification,
// an explanation. The numbers come from src/billing; this is only their presentation.
import { MeterError } from '../cli/errors.js';
import type { Ledger } from '../ledger/index.js';
import { closePeriod, readInvoice, verifyPeriod } from '../billing/closed-periods.js';
import { explainLine, type Explanation } from '../billing/explain.js';
import { formatInvoice, ledgerStats, type BillingPeriod, type InvoiceGrouping, type RateCard } from '../billing/index.js';

const write = (text: string) => process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
const json = (value: unknown) => write(JSON.stringify(value, null, 2));

export async function show(
  ledger: Ledger,
  o: { from: number; to: number; by: InvoiceGrouping; now: number; whatIf?: RateCard; format: string; width: number },
): Promise<void> {
  const invoice = await readInvoice(ledger, { from: o.from, to: o.to, by: o.by, now: o.now, whatIf: o.whatIf });
  // Offsets that were never billed (deleted by retention, passed over by a reset): always in JSON,
  // and said under the table or on stderr whenever there are any.
  const { lost, skipped } = await ledgerStats(ledger);
  if (o.format === 'json') {
    json({ ...invoice, unbilledOffsets: { lost, skipped } });
    return;
  }
  const keyTitle = o.by === 'machine' ? 'MACHINE' : o.by.label.toUpperCase();
  process.stdout.write(formatInvoice(invoice, o.format as 'table' | 'csv', { keyTitle, width: o.width }));
  if (o.whatIf && o.format === 'csv') process.stderr.write('meter invoice: what-if: priced with the --rates card, not the prices in the ledger\n');
  if (lost + skipped > 0) {
    const note = `${lost + skipped} Kafka offset(s) in this ledger were never billed: ${lost} deleted by retention before they were read, ${skipped} passed over by \`meter ledger offsets --reset-to-log\`; see \`meter ledger offsets\``;
    (o.format === 'table' ? process.stdout : process.stderr).write(`${o.format === 'table' ? '\n' : 'meter invoice: '}${note}\n`);
  }
}

export async function close(ledger: Ledger, o: { period: BillingPeriod; now: number; graceMs: number; force: boolean; format: string }): Promise<void> {
  const invoice = await closePeriod(ledger, o.period, { now: o.now, graceMs: o.graceMs, force: o.force });
  if (o.format === 'json') {
    json(invoice);
    return;
  }
  write(
    `closed ${o.period.label}: invoice #${invoice.number}, total ${invoice.total} ${invoice.currency} (${invoice.lines.length} line(s)), amount due ${invoice.amountDue}, ` +
      `samples ingested up to ${invoice.closedAt}, digest ${invoice.digest}`,
  );
}

export async function verify(ledger: Ledger, o: { period: BillingPeriod; format: string }): Promise<void> {
  const result = await verifyPeriod(ledger, o.period);
  if (o.format === 'json') json(result);
  else if (result.identical) write(`${result.period} (invoice #${result.number}) verified: rebuilt from the ledger, digest ${result.rebuiltDigest} is identical`);
  else {
    const lines = [`${result.period} (invoice #${result.number}) DIFFERS: stored digest ${result.storedDigest}, rebuilt ${result.rebuiltDigest}`];
    for (const d of result.differences) lines.push(`  ${d.path}: stored ${JSON.stringify(d.stored)}, rebuilt ${JSON.stringify(d.rebuilt)}`);
    write(lines.join('\n'));
  }
  if (!result.identical) {
    process.exitCode = 1;
    if (o.format === 'json') throw new MeterError(`${result.period}: the rebuilt invoice differs from the stored one (${result.differences.length} difference(s))`);
  }
}

function explanationText(e: Explanation): string {
  const out = [`${e.period}, ${e.by} ${e.key}${e.closed ? ' (closed)' : ''}`];
  if (e.line) out.push(`  billed: ${e.line.total} (cpu ${e.line.cpuCost} for ${e.line.cpuCoreHours} core-h, memory ${e.line.memCost} for ${e.line.memGiBHours} GiB-h)`);
  else out.push('  billed: nothing in this period');
  out.push(`  machines: ${e.machines.join(', ') || 'none'}`);
  out.push(`  ${e.hours} hour(s) with usage, ${e.samples} sample(s)`);
  for (const v of e.versions) out.push(`  price version ${v.digest.slice(0, 12)} (effective ${v.effectiveFrom}): ${v.hours} hour(s)`);
  for (const a of e.adjustments) out.push(`  ${a.samples} late sample(s), billed as adjustments on ${a.billedIn}`);
  if (e.firstSample) out.push(`  first sample ${e.firstSample.id} (${e.firstSample.start}), last ${e.lastSample!.id} (ends ${e.lastSample!.end})`);
  if (e.coverageFrom === 'hourly') out.push(`  raw samples before ${e.rawPrunedBefore} were pruned: no sample ids; coverage from the hourly rollups (gaps are hours without a sample)`);
  for (const c of e.coverage) {
    out.push(`  coverage of ${c.machine}: ${c.sharePercent}% of the period, ${c.gaps.length} gap(s)`);
    for (const g of c.gaps) out.push(`    gap ${g.start} to ${g.end}`);
  }
  return out.join('\n');
}

export async function explain(ledger: Ledger, o: { period: BillingPeriod; key: string; by: InvoiceGrouping; format: string; now?: number }): Promise<void> {
  const e = await explainLine(ledger, { period: o.period, key: o.key, by: o.by, now: o.now ?? Date.now() });
  if (o.format === 'json') json(e);
  else write(explanationText(e));
}
