// The ledger thread: applies batches to a SQLite ledger, in the order they arrive, in its own connection.
import { parentPort, workerData } from 'node:worker_threads';
import { errorMessage } from '../cli/errors.js';
import { LedgerGapError, LogBehindLedgerError, type LedgerBatch } from '../ledger/index.js';
import { openSqliteLedger, type SqliteLedger } from '../ledger/sqlite/sqlite-ledger.js';
import { unpackRows } from '../ledger/rows.js';
import type { TransferBatch } from './ledger-writer.js';

const port = parentPort!;
const { ledgerPath, busyTimeoutMs } = workerData as { ledgerPath: string; busyTimeoutMs?: number };
let ledger: SqliteLedger | undefined;
try {
  ledger = openSqliteLedger(ledgerPath, { busyTimeoutMs });
  port.postMessage({ type: 'ready' });
} catch (error) {
  port.postMessage({ type: 'error', name: 'MeterError', message: errorMessage(error) });
  port.close();
}

port.on('message', (message: { type: 'apply'; id: number; batch: TransferBatch } | { type: 'close' }) => {
  if (message.type === 'close') {
    void ledger?.close();
    port.close();
    return;
  }
  try {
    if (!ledger) throw new Error('the ledger is not open');
    const started = performance.now();
    const batch: LedgerBatch = { ...message.batch, samples: unpackRows(message.batch.samples) };
    const result = ledger.applyBatchSync(batch);
    port.postMessage({ type: 'result', id: message.id, result, seconds: (performance.now() - started) / 1000 });
  } catch (error) {
    const gap = error instanceof LedgerGapError ? error : undefined;
    const behind = error instanceof LogBehindLedgerError ? error : undefined;
    port.postMessage({
      type: 'error',
      id: message.id,
      name: error instanceof Error ? error.name : 'Error',
      message: errorMessage(error),
      partition: gap?.partition ?? behind?.partition,
      fetchedOffset: gap?.fetchedOffset ?? behind?.logEnd,
      nextOffset: gap?.nextOffset ?? behind?.nextOffset,
    });
  }
});
