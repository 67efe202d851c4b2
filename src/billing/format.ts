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
  const from = invoice.from.replace(':00.000Z', 'Z').replace('T00:00Z', '');
  const to = invoice.to.replace(':00.000Z', 'Z').replace('T00:00Z', '');
  const header = `Invoice ${from} to ${to} (UTC), ${invoice.currency}, ${invoice.lines.length} line(s)`;
  const out = [header, '', ...body];
  if (withForecast) out.push('', 'FORECAST: the projected total for the range at the run-rate of the last 24 h.');
  if (invoice.lines.length === 0) out.push('', 'No usage in this range.');
  if (note) out.push(withForecast ? note : `\n${note}`);
  return `${out.join('\n')}\n`;
}

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
  return [header, ...rows].map((r) => r.map(csvCell).join(',')).join('\r\n') + '\r\n';
}

export function formatInvoice(invoice: Invoice, format: InvoiceFormat, options: TableOptions): string {
  if (format === 'json') return `${JSON.stringify(invoice, null, 2)}\n`;
  if (format === 'csv') return formatInvoiceCsv(invoice);
  return formatInvoiceTable(invoice, options);
}
