// Billing's public surface: rate cards and price versions, exact money, invoices (pooled tiers,
// adjustments, closed periods), forecasts, cost rates and budgets.
export {
  loadRateCard,
  parseRateCard,
  planFor,
  describeRateCard,
  RateCardError,
  DEFAULT_CURRENCY,
  DEFAULT_CPU_PRICE,
  DEFAULT_MEMORY_PRICE,
  type RateCard,
  type Plan,
  type PriceSpec,
  type Tier,
  type TierMode,
} from './rate-card.js';
export { parseInstant, parsePeriod, periodOf, periodsCovering, type BillingPeriod } from './dates.js';
export {
  billingPeriod,
  computeInvoice,
  priceBookFor,
  type Invoice,
  type InvoiceLine,
  type InvoiceOptions,
  type InvoiceGrouping,
  type AccountLine,
} from './invoice.js';
export type { InvoiceForecast } from './invoice-forecast.js';
export type { AdjustmentLine } from './adjustments.js';
export { machineSummaries, costPerHour, recentMachineCosts, DEFAULT_STALE_AFTER_MS, type MachineSummary, type CostRateOptions } from './machine-costs.js';
export { ledgerStats, type LedgerStats } from './ledger-stats.js';
export { formatInvoice, formatInvoiceTable, formatInvoiceCsv, roundDecimalString, type InvoiceFormat } from './format.js';
export { costMicros, costNumerator, numeratorToMicros, basePrice, flatCostMicros } from './rating.js';
export {
  MICROS,
  CPU_UNITS_PER_CORE_HOUR,
  MEM_UNITS_PER_GIB_HOUR,
  formatMicros,
  formatUsageHours,
  parseDecimal,
  busyMicros,
  memoryUsage,
} from './money.js';
export {
  evaluateBudgets,
  budgetLevel,
  parseBudgets,
  BUDGET_THRESHOLDS,
  type Budget,
  type BudgetLevel,
  type BudgetStatus,
} from './budgets.js';
export { notifyBudgets, type BudgetAlert, type NotifyOptions, type NotifyResult } from './budget-notify.js';
export { ledgerPriceBook, ledgerPriceVersions, addLedgerPriceVersion, addRatesVersion, budgetsInForce, registerWorkerRates, whatIfBook, type LedgerPriceVersion } from './price-store.js';
export { PriceBook, PriceVersionError, versionRef, type PriceVersion, type PriceVersionRef } from './price-versions.js';
export { DEFAULT_ACCEPTANCE_WINDOW, type AcceptanceWindow } from './acceptance.js';
export { costRates, coveredWindows, coverageGaps, coveredMs, type CostRate, type RateGrouping, type TimeWindow } from './coverage.js';
export { allocateLargestRemainder } from './allocation.js';
export { allocateRange } from './range-allocation.js';
export { pricePeriod } from './pooled-tiers.js';
export { periodUsage } from './period-pricing.js';
