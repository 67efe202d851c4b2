// Renders an invoice as an aligned table (fits 80 columns), CSV (RFC 4180) or JSON.
import type { Invoice } from './invoice.js';
import { textTable, widestLine, type TextColumn } from '../format/index.js';

export type InvoiceFormat = 'table' | 'csv' | 'json';

export const TOTAL_KEY = '(total)';

/** Half-up rounding of a non-negative decimal string to `places` decimals, as a string. */
export function roundDecimalString(value: string, places: number): string {
  const [whole = '0', fraction = ''] = value.split('.');
  if (fraction.length <= places) return places ? `${whole}.${fraction.padEnd(places, '0')}` : whole;
  const digits = BigInt(whole + fraction.slice(0, places)) + (Number(fraction[places]) >= 5 ? 1n : 0n);
  const text = digits.toString().padStart(places + 1, '0');
  return places ? `${text.slice(0, -places)}.${text.slice(-places)}` : text;
}

export interface TableOptions {
  /** The grouping column's title, e.g. MACHINE or TEAM. */
  keyTitle: string;
  width?: number;
}

/**
 * An aligned table. Money is shown to 6 decimals when that fits the width, else to cents (the JSON
 * and CSV formats always carry every digit); long keys are cut with an ellipsis.
 */
export function formatInvoiceTable(invoice: Invoice, options: TableOptions): string {
  const width = options.width ?? 80;
  const withForecast = invoice.forecast !== undefined;
  const render = (moneyPlaces: number, usagePlaces: number, width?: number): string[] => {
    const titles = ['CORE-H', 'GIB-H', 'CPU', 'MEMORY', 'TOTAL', ...(withForecast ? ['FORECAST'] : [])];
    const rows = invoice.lines.map((l) => [
      l.key,
      roundDecimalString(l.cpuCoreHours, usagePlaces),
      roundDecimalString(l.memGiBHours, usagePlaces),
      roundDecimalString(l.cpuCost, moneyPlaces),
      roundDecimalString(l.memCost, moneyPlaces),
      roundDecimalString(l.total, moneyPlaces),
      ...(withForecast ? [roundDecimalString(l.forecast ?? l.total, moneyPlaces)] : []),
    ]);
    const totalRow = [TOTAL_KEY, '', '', '', '', roundDecimalString(invoice.total, moneyPlaces)];
    if (withForecast) totalRow.push(roundDecimalString(invoice.forecast!, moneyPlaces));
    const columns: TextColumn[] = [{ header: options.keyTitle, shrink: true, min: 8 }, ...titles.map((header): TextColumn => ({ header, align: 'right' }))];
    return textTable(columns, [...rows, totalRow], { width, rulesBefore: [0, rows.length] });
  };
  let places: [number, number] = [6, 3];
  let body = render(...places);
  let note = '';
  if (widestLine(body) > width) {
    places = [2, 2];
    note = 'Amounts rounded to 0.01 here; --format json or csv has every digit.';
  }
  // Long keys are cut (to 8 columns at least) so the table fits the width.
  body = render(...places, width);
  const from = shortInstant(invoice.from);
  const to = shortInstant(invoice.to);
  const status = invoice.closed ? `CLOSED invoice #${invoice.number} (closed ${shortInstant(invoice.closedAt!)}), ` : '';
  const header = `${status}Invoice ${from} to ${to} (UTC), ${invoice.currency}, ${invoice.lines.length} line(s)`;
  const out = [...wrap(header, width)];
  if (invoice.whatIf) out.push(...wrap('WHAT-IF: priced with the --rates card, not the prices in the ledger; not a bill.', width));
  out.push('', ...body);
  const money = (value: string) => roundDecimalString(value, places[0]);
  if (withForecast && invoice.forecastDetail) {
    const f = invoice.forecastDetail;
    out.push('', ...wrap(`FORECAST: ${f.note}.`, width));
    if (f.lower !== null) out.push(`  ${f.level}% interval ${money(f.lower)} to ${money(f.upper!)}`);
  }
  if (invoice.lines.length === 0) out.push('', 'No usage in this range.');
  if (invoice.adjustments.length > 0) {
    out.push('', ...wrap("ADJUSTMENTS: samples that came after their period was closed, re-rated at that period's tiers:", width));
    for (const a of invoice.adjustments) out.push(...wrap(`  ${a.period}  ${a.key}  ${money(a.total)}`, width));
    out.push(`  adjustments ${money(invoice.adjustmentsTotal)}, amount due ${money(invoice.amountDue)}`);
  }
  if (invoice.versions.length > 0) {
    out.push('', 'Priced with:');
    for (const v of invoice.versions) out.push(`  version ${v.digest.slice(0, 12)}, effective ${shortInstant(v.effectiveFrom)}`);
  }
  out.push(`Digest ${invoice.digest}`);
  if (note) out.push(note);
  return `${out.join('\n')}\n`;
}

/** Words on lines of at most `width` columns (a longer word stands alone); later lines indented. */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = `  ${word}`;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  if (line) lines.push(line);
  return lines;
}

/** 2026-11-01T00:00:00.000Z as 2026-11-01, 2026-11-01T12:30:00.000Z as 2026-11-01T12:30Z. */
const shortInstant = (iso: string): string => iso.replace(':00.000Z', 'Z').replace('T00:00Z', '');

function csvCell(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

export function formatInvoiceCsv(invoice: Invoice): string {
  const withForecast = invoice.forecast !== undefined;
  const header = ['key', 'cpuCoreHours', 'memGiBHours', 'cpuCost', 'memCost', 'total', ...(withForecast ? ['forecast'] : []), 'currency'];
  const rows = invoice.lines.map((l) => [
    l.key,
    l.cpuCoreHours,
    l.memGiBHours,
    l.cpuCost,
    l.memCost,
    l.total,
    ...(withForecast ? [l.forecast ?? l.total] : []),
    invoice.currency,
  ]);
  rows.push([TOTAL_KEY, '', '', '', '', invoice.total, ...(withForecast ? [invoice.forecast!] : []), invoice.currency]);
  for (const a of invoice.adjustments) {
    rows.push([`(adjustment ${a.period}) ${a.key}`, a.cpuCoreHours, a.memGiBHours, a.cpuCost, a.memCost, a.total, ...(withForecast ? [a.total] : []), invoice.currency]);
  }
  if (invoice.adjustments.length > 0) rows.push(['(amount due)', '', '', '', '', invoice.amountDue, ...(withForecast ? [''] : []), invoice.currency]);
  return [header, ...rows].map((r) => r.map(csvCell).join(',')).join('\r\n') + '\r\n';
}

export function formatInvoice(invoice: Invoice, format: InvoiceFormat, options: TableOptions): string {
  if (format === 'json') return `${JSON.stringify(invoice, null, 2)}\n`;
  if (format === 'csv') return formatInvoiceCsv(invoice);
  return formatInvoiceTable(invoice, options);
}
