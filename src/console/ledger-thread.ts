// The console's ledger thread: owns the read-only ledger (SQLite, whose driver is synchronous, or
// PostgreSQL, whose invoices are computed in BigInt), runs the cost store's polls and answers history
// questions, so that neither ever holds up a frame or a key on the main thread. Started and spoken to
// by ledger-reader.ts; the messages are defined there.
import { readlinkSync, writeFileSync } from 'node:fs';
import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { errorMessage } from '../cli/errors.js';
import { LedgerConnection } from './ledger-connection.js';
import { LedgerHistory } from './ledger-history.js';
import { LedgerStore } from './ledger-store.js';
import { pricesAreWhatIf } from './snapshot.js';
import { STATE_CHUNK, type ReaderReply, type ReaderRequest, type ReaderSetup, type StateHead } from './ledger-reader.js';

const port = parentPort!;
const setup = workerData as ReaderSetup;

// The screen comes first: on a busy machine this thread's reads wait for the main thread, not the
// other way round (Linux: a thread's nice value is its own; elsewhere this is skipped). Named, so
// that `top -H` (and bench:console) tell it from the main thread and V8's helpers, all "node".
try {
  const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
  if (Number.isInteger(tid) && tid > 0) setPriority(tid, 10);
  writeFileSync('/proc/thread-self/comm', 'meter-ledger');
} catch {
  // not Linux, or not allowed: the thread keeps the process's priority and name
}
const connection = new LedgerConnection(setup.path);
const history = new LedgerHistory(() => connection.get(), pricesAreWhatIf(setup.rateCard) ? setup.rateCard : undefined);

const post = (reply: ReaderReply) => port.postMessage(reply);

/**
 * Sends the store's state in chunks of STATE_CHUNK machines and cost lines, each after the main
 * thread has taken the last one: reading a big fleet's state at once would hold a frame up.
 */
let sending: Promise<void> | undefined;
let again = false;
let ack: (() => void) | undefined;
function sendState(): Promise<void> {
  if (sending) {
    again = true;
    return sending;
  }
  sending = (async () => {
    do {
      again = false;
      const machines = [...store.machines.values()];
      const lines = store.costs?.lines ?? [];
      const head: StateHead = {
        view: store.view,
        fleet: store.fleet,
        budgets: store.budgets,
        lastPollMs: store.lastPollMs,
        costs: store.costs && { ...store.costs, lines: [] },
      };
      const parts = Math.max(1, Math.ceil(machines.length / STATE_CHUNK), Math.ceil(lines.length / STATE_CHUNK));
      for (let part = 0; part < parts; part++) {
        const taken = new Promise<void>((resolve) => (ack = resolve));
        const from = part * STATE_CHUNK;
        post({ type: 'state', part, parts, head: part === 0 ? head : undefined, machines: machines.slice(from, from + STATE_CHUNK), lines: lines.slice(from, from + STATE_CHUNK) });
        await taken;
      }
    } while (again);
  })().finally(() => (sending = undefined));
  return sending;
}

/** Resolves once the main thread has the store's latest state. */
const stateSent = (): Promise<void> => sending ?? Promise.resolve();

const store: LedgerStore = new LedgerStore({
  path: setup.path,
  rateCard: setup.rateCard,
  pollMs: setup.pollMs,
  costBy: setup.costBy,
  runRateWindowMs: setup.runRateWindowMs,
  connection,
  onChange: () => void sendState(),
});

async function answer(request: ReaderRequest): Promise<unknown> {
  switch (request.type) {
    case 'machineHistory':
      return history.machineHistory(request.machine, request.window);
    case 'recentSparklines':
      return history.recentSparklines(request.machines, request.options);
    case 'setCostBy':
      await store.setCostBy(request.by);
      return stateSent();
    case 'poll':
      await store.poll();
      return stateSent();
  }
}

port.on('message', (message: ReaderRequest | { type: 'start' } | { type: 'stop' } | { type: 'ack' }) => {
  if (message.type === 'ack') {
    ack?.();
    return;
  }
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
