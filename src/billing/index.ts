// Billing's public surface: rate cards, exact money, invoices, forecasts and cost summaries.
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
export {
  billingPeriod,
  computeInvoice,
  machineSummaries,
  ledgerStats,
  parseInstant,
  DEFAULT_RUN_RATE_WINDOW_MS,
  type BillingPeriod,
  type Invoice,
  type InvoiceLine,
  type InvoiceOptions,
  type InvoiceGrouping,
  type MachineSummary,
  type MachineSummaryOptions,
  type LedgerStats,
} from './invoice.js';
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
