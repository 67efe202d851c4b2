// Shared builders for the pure billing tests: rate cards from plain documents, usage items in exact
// units, and a price book in one call.
import { CPU_UNITS_PER_CORE_HOUR, MEM_UNITS_PER_GIB_HOUR } from '../../../src/billing/money.js';
import { PriceBook } from '../../../src/billing/price-versions.js';
import { parseRateCard, type RateCard } from '../../../src/billing/rate-card.js';
import type { UsageItem } from '../../../src/billing/pooled-tiers.js';

export const HOUR = 3_600_000;
export const FEB_2026 = { from: Date.UTC(2026, 1, 1), to: Date.UTC(2026, 2, 1) };

export const card = (document: unknown): RateCard => parseRateCard(document, 'test card');

/** A book of cards, each effective from its instant. */
export function book(...versions: [RateCard, number][]): PriceBook {
  return versions.reduce((b, [c, at]) => b.add(c, at), PriceBook.empty);
}

/** Usage in whole core-hours and GiB-hours (or exact units when given as bigint units). */
export function usage(
  at: number,
  machine: string,
  labels: Record<string, string>,
  coreHours: number,
  gibHours = 0,
): UsageItem {
  return {
    at,
    machine,
    labels,
    cpuBusyUs: BigInt(coreHours) * CPU_UNITS_PER_CORE_HOUR,
    memByteMs: BigInt(gibHours) * MEM_UNITS_PER_GIB_HOUR,
  };
}
