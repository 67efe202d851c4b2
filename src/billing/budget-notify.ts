// `meter budgets --notify URL`: one JSON POST per budget and threshold crossed, once per billing
// period. Delivery is remembered in the ledger only once the webhook answers 2xx; a failed POST is
// retried with backoff, and if it still fails it stays unrecorded, so the next run tries again.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Ledger } from '../ledger/index.js';
import type { BudgetStatus } from './budgets.js';

/** The webhook's body. */
export interface BudgetAlert {
  type: 'meter.budget';
  budget: string;
  scope: string;
  period: string;
  /** Percent of the budget the forecast passed: 80 or 100. */
  threshold: number;
  level: BudgetStatus['level'];
  currency: string;
  amount: string;
  actual: string;
  forecast: string;
  forecastPercent: number;
  at: string;
}

export interface NotifyOptions {
  url: string;
  now: number;
  /** Attempts per alert (default 4) and the first backoff (default 500 ms, doubling). */
  attempts?: number;
  backoffMs?: number;
  timeoutMs?: number;
  onRetry?: (alert: BudgetAlert, attempt: number, error: string) => void;
}

export interface NotifyResult {
  sent: BudgetAlert[];
  /** Already delivered earlier in this period. */
  skipped: number;
  failed: { alert: BudgetAlert; error: string }[];
}


async function post(url: string, body: BudgetAlert, timeoutMs: number): Promise<void> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'user-agent': 'meter-budgets' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  });
  // Drain the body so the connection is released.
  await response.arrayBuffer().catch(() => undefined);
  if (!response.ok) throw new Error(`HTTP ${response.status}`);
}

export async function notifyBudgets(ledger: Ledger, statuses: BudgetStatus[], options: NotifyOptions): Promise<NotifyResult> {
  const attempts = options.attempts ?? 4;
  const result: NotifyResult = { sent: [], skipped: 0, failed: [] };
  for (const status of statuses) {
    for (const threshold of status.passed) {
      const key = { budget: status.name, period: status.period, threshold };
      if (await ledger.alertWasSent(key)) {
        result.skipped++;
        continue;
      }
      const alert: BudgetAlert = {
        type: 'meter.budget',
        budget: status.name,
        scope: status.scope,
        period: status.period,
        threshold,
        level: status.level,
        currency: status.currency,
        amount: status.budget,
        actual: status.actual,
        forecast: status.forecast,
        forecastPercent: status.forecastPercent,
        at: new Date(options.now).toISOString(),
      };
      let lastError = '';
      for (let attempt = 1; attempt <= attempts; attempt++) {
        try {
          await post(options.url, alert, options.timeoutMs ?? 10_000);
          await ledger.recordAlertSent(key, options.now);
          result.sent.push(alert);
          lastError = '';
          break;
        } catch (error) {
          lastError = error instanceof Error ? (error.cause instanceof Error ? error.cause.message : error.message) : String(error);
          if (attempt < attempts) {
            options.onRetry?.(alert, attempt, lastError);
            await sleep((options.backoffMs ?? 500) * 2 ** (attempt - 1));
          }
        }
      }
      if (lastError) result.failed.push({ alert, error: lastError });
    }
  }
  return result;
}
