// Which budget alerts were delivered, so `meter budgets --notify` posts each once per period.
import type { Ledger } from './ledger.js';

export interface SentAlert {
  budget: string;
  period: string;
  threshold: number;
}

export function alertWasSent(ledger: Ledger, alert: SentAlert): boolean {
  return (
    ledger.db
      .prepare('SELECT 1 FROM budget_alerts WHERE budget = ? AND period = ? AND threshold = ?')
      .get(alert.budget, alert.period, alert.threshold) !== undefined
  );
}

export function recordAlertSent(ledger: Ledger, alert: SentAlert, at: number): void {
  ledger.db
    .prepare('INSERT OR IGNORE INTO budget_alerts (budget, period, threshold, sent_ms) VALUES (?, ?, ?, ?)')
    .run(alert.budget, alert.period, alert.threshold, at);
}
