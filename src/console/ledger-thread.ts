// The console's ledger thread: owns the read-only ledger (SQLite, whose driver is synchronous, or
// PostgreSQL, whose invoices are computed in BigInt), runs the cost store's polls and answers history
// questions, so that neither ever holds up a frame or a key on the main thread. Started and spoken to
// by ledger-reader.ts; the messages are defined there.
import { parentPort, workerData } from 'node:worker_threads';
import { errorMessage } from '../cli/errors.js';
import { LedgerConnection } from './ledger-connection.js';
import { LedgerHistory } from './ledger-history.js';
import { LedgerStore } from './ledger-store.js';
import type { ReaderReply, ReaderRequest, ReaderSetup, StoreState } from './ledger-reader.js';

const port = parentPort!;
const setup = workerData as ReaderSetup;
const connection = new LedgerConnection(setup.path);
const history = new LedgerHistory(() => connection.get(), setup.rateCard);

const post = (reply: ReaderReply) => port.postMessage(reply);

function state(): StoreState {
  return { view: store.view, machines: store.machines, costs: store.costs, fleet: store.fleet, budgets: store.budgets, lastPollMs: store.lastPollMs };
}

const store: LedgerStore = new LedgerStore({
  path: setup.path,
  rateCard: setup.rateCard,
  pollMs: setup.pollMs,
  costBy: setup.costBy,
  runRateWindowMs: setup.runRateWindowMs,
  connection,
  onChange: () => post({ type: 'state', state: state() }),
});

async function answer(request: ReaderRequest): Promise<unknown> {
  switch (request.type) {
    case 'machineHistory':
      return history.machineHistory(request.machine, request.window);
    case 'recentSparklines':
      return history.recentSparklines(request.machines, request.options);
    case 'setCostBy':
      return store.setCostBy(request.by);
    case 'poll':
      return store.poll();
  }
}

port.on('message', (message: ReaderRequest | { type: 'start' } | { type: 'stop' }) => {
  if (message.type === 'start') {
    store.start();
    return;
  }
  if (message.type === 'stop') {
    store.stop();
    void connection.close().finally(() => port.close());
    return;
  }
  answer(message).then(
    (result) => post({ type: 'result', id: message.id, result }),
    (error: unknown) => post({ type: 'error', id: message.id, message: errorMessage(error).split('\n')[0]! }),
  );
});
