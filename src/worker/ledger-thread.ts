// The ledger thread: applies batches, in the order they arrive, in its own SQLite connection.
import { parentPort, workerData } from 'node:worker_threads';
import { errorMessage } from '../cli/errors.js';
import { LedgerGapError, openLedger, type Ledger, type LedgerBatch } from '../ledger/index.js';

const port = parentPort!;
const { ledgerPath, busyTimeoutMs } = workerData as { ledgerPath: string; busyTimeoutMs?: number };
let ledger: Ledger | undefined;
try {
  ledger = openLedger(ledgerPath, { busyTimeoutMs });
  port.postMessage({ type: 'ready' });
} catch (error) {
  port.postMessage({ type: 'error', name: 'MeterError', message: errorMessage(error) });
  port.close();
}

port.on('message', (message: { type: 'apply'; id: number; batch: LedgerBatch } | { type: 'close' }) => {
  if (message.type === 'close') {
    ledger?.close();
    port.close();
    return;
  }
  try {
    if (!ledger) throw new Error('the ledger is not open');
    port.postMessage({ type: 'result', id: message.id, result: ledger.applyBatch(message.batch) });
  } catch (error) {
    const gap = error instanceof LedgerGapError ? error : undefined;
    port.postMessage({
      type: 'error',
      id: message.id,
      name: error instanceof Error ? error.name : 'Error',
      message: errorMessage(error),
      partition: gap?.partition,
      fetchedOffset: gap?.fetchedOffset,
      nextOffset: gap?.nextOffset,
    });
  }
});
