// Finding and ending every process a test run started, wherever it went: each one inherits marks in
// its environment (METER_TEST_MARKS, a space-separated list that nested runs append to), which
// survive a detached process group, a double fork or a re-parent to init. Linux (/proc) only;
// elsewhere nothing is found and process groups are all there is.
import { readdirSync, readFileSync } from 'node:fs';

export const MARKS_ENV = 'METER_TEST_MARKS';

/** The environment of a child that carries one more mark. */
export function withMark(env, mark) {
  const marks = [env[MARKS_ENV], mark].filter(Boolean).join(' ');
  return { ...env, [MARKS_ENV]: marks };
}

function marksOf(pid) {
  try {
    const environ = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
    const entry = environ.find((e) => e.startsWith(`${MARKS_ENV}=`));
    return entry ? entry.slice(MARKS_ENV.length + 1).split(' ') : [];
  } catch {
    return [];
  }
}

function commandOf(pid) {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim().slice(0, 160);
  } catch {
    return '?';
  }
}

function isZombie(pid) {
  try {
    return /\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true;
  }
}

/** Live processes carrying mark, other than this one: [{pid, command}]. */
export function processesMarked(mark) {
  let pids;
  try {
    pids = readdirSync('/proc').filter((n) => /^\d+$/.test(n)).map(Number);
  } catch {
    return [];
  }
  return pids
    .filter((pid) => pid !== process.pid && !isZombie(pid) && marksOf(pid).includes(mark))
    .map((pid) => ({ pid, command: commandOf(pid) }));
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Ends every process carrying mark: SIGTERM, then SIGKILL to what is left after graceMs.
 * Returns the ones it found.
 */
export async function endMarked(mark, graceMs = 3000) {
  const found = processesMarked(mark);
  if (found.length === 0) return [];
  for (const { pid } of found) signal(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline && processesMarked(mark).length > 0) await sleep(100);
  for (const { pid } of processesMarked(mark)) signal(pid, 'SIGKILL');
  const killDeadline = Date.now() + 5000;
  while (Date.now() < killDeadline && processesMarked(mark).length > 0) await sleep(100);
  return found;
}

export function signal(pid, name) {
  try {
    process.kill(pid, name);
  } catch {
    // gone already
  }
}

/** Signals a whole process group (a child spawned detached leads its own). */
export function signalGroup(pid, name) {
  try {
    process.kill(-pid, name);
  } catch {
    signal(pid, name);
  }
}
