// The live console in a real terminal: tmux at 120x40 with a real broker, a simulated fleet of 40 and
// a worker. Captures the screen and checks that machines and lag are on it, that keys work, that a
// resize re-lays it out, that NO_COLOR leaves no colour codes, and that q exits cleanly.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync, type ChildProcess } from 'node:child_process';
import { meterArgv, repoRoot, spawnMeter } from '../helpers/cli.js';
import { testBrokers } from '../helpers/broker.js';
import { skipWithout } from '../helpers/tools.js';

const tmuxMissing = skipWithout('tmux', 'tmux');
const hasTmux = !tmuxMissing;
let brokers = '';
const dir = mkdtempSync(join(tmpdir(), 'meter-console-tmux-'));
const session = `meter-console-test-${process.pid}`;
const children: ChildProcess[] = [];
const env = { ...process.env, METER_HOME: dir, METER_LOG_LEVEL: 'warn' };

before(async () => {
  if (hasTmux) brokers = await testBrokers();
});
after(() => {
  tmux('kill-server');
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
// A tmux server of the test's own, started with none of the suite's METER_* variables: a shared
// server would hand the console whatever environment another process started it with.
const tmuxEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('METER_')));
const tmux = (...args: string[]) => spawnSync('tmux', ['-L', session, ...args], { encoding: 'utf8', env: tmuxEnv });
/** The visible screen, one string per row (with escapes when asked). */
const capture = (escapes = false) => tmux('capture-pane', '-t', session, '-p', ...(escapes ? ['-e'] : [])).stdout.replace(/\n$/, '').split('\n');
const keys = (...k: string[]) => tmux('send-keys', '-t', session, ...k);

async function waitForScreen(what: string, ok: (rows: string[]) => boolean, timeoutMs = 60_000): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const rows = capture();
    if (ok(rows)) return rows;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; the screen:\n${rows.join('\n')}`);
    await sleep(300);
  }
}

const shellQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

test('the console under tmux at 120x40: machines and lag on screen, keys, resize, NO_COLOR, q exits', { skip: tmuxMissing, timeout: 180_000 }, async () => {
  const suffix = `${process.pid}_${Date.now()}`;
  const topic = `console_tmux_${suffix}`;
  const group = `billing_${suffix}`;
  const ledger = join(dir, 'ledger.db');
  const kafka = ['--brokers', brokers, '--topic', topic];
  const agent = spawnMeter(['agent', '--simulate', '40', '--interval', '1', '--spool', join(dir, 'spool'), ...kafka], { env, stdio: 'ignore' });
  const worker = spawnMeter(['worker', '--group', group, '--ledger', ledger, ...kafka], { env, stdio: 'ignore' });
  children.push(agent, worker);

  const exitFile = join(dir, 'console.exit');
  const errFile = join(dir, 'console.err');
  const argv = [process.execPath, ...meterArgv(['console', '--interval', '1', '--group', group, '--ledger', ledger, ...kafka])];
  const command = `cd ${shellQuote(repoRoot)} && NO_COLOR=1 METER_HOME=${shellQuote(dir)} ${argv.map(shellQuote).join(' ')} 2>${shellQuote(errFile)}; echo $? > ${shellQuote(exitFile)}; sleep 60`;
  const started = tmux('new-session', '-d', '-s', session, '-x', '120', '-y', '40', command);
  assert.equal(started.status, 0, started.stderr);

  // Machines with costs, and the lag pane with its partitions and the worker as a member.
  const screen = await waitForScreen('40 machines with costs and the lag pane', (rows) => {
    const text = rows.join('\n');
    const machines = rows.filter((r) => /^[› ] sim-\w+-\d\d /.test(r));
    const billed = machines.every((r) => /\d+% +\d+% +\$[\d.]+ +\$[\d.]+ +\d+s ago/.test(r));
    return /40 machines/.test(rows[0] ?? '') && machines.length >= 20 && billed && /MEMBERS \(1\)/.test(text) && /^\s+2\s+[\d,]+\s+[\d,]+\s+\d+/m.test(text);
  });
  assert.ok(screen.length <= 40, `the screen has ${screen.length} rows`);
  for (const row of screen) assert.ok(row.length <= 120, `a row is ${row.length} wide`);
  assert.match(screen[0]!, /^meter ● connected /);
  const machineRows = screen.filter((r) => /^[› ] sim-\w+-\d\d /.test(r));
  assert.ok(machineRows.length >= 20, `${machineRows.length} machine rows`);
  for (const r of machineRows) assert.match(r, /\d+% +\d+% +\$[\d.]+ +\$[\d.]+ +\d+s ago/);
  assert.match(screen.join('\n'), /─ Lag \(3\) ─/);
  assert.match(screen.join('\n'), /PARTITION +COMMITTED +END +LAG +RATE +CATCH-UP +STATUS/);
  assert.match(screen[38]!, /Tab pane .* q quit/, 'the status line is on the last row of the frame');

  // NO_COLOR: styles (bold, inverse) but no colours.
  const raw = capture(true).join('\n');
  assert.doesNotMatch(raw, /\u001b\[(?:[0-9;]*;)?(?:3[0-7]|9[0-7]|38;[25])[;m]/, 'no colour escape codes');

  // Keys: the selection moves; help opens and closes.
  const selected = () => capture().find((r) => r.startsWith('›'));
  const first = selected();
  keys('j');
  await waitForScreen('the selection to move', () => selected() !== first);
  keys('?');
  await waitForScreen('the help', (rows) => rows.some((r) => /q Ctrl-C +quit/.test(r)));
  keys('Escape');
  await waitForScreen('the help to close', (rows) => !rows.some((r) => /q Ctrl-C +quit/.test(r)));

  // Resize to 80x24: the frame follows, nothing wider, the status line on row 23.
  tmux('resize-window', '-t', session, '-x', '80', '-y', '24');
  const small = await waitForScreen('the 80x24 layout', (rows) => /q quit/.test(rows[22] ?? '') && rows.every((r) => r.length <= 80));
  assert.ok(small.length <= 24);
  assert.doesNotMatch(small.join('\n'), /─ Lag \(3\)/, 'no room for the lag pane at 24 rows');

  // q quits with 0 and gives the terminal its screen back.
  keys('q');
  const deadline = Date.now() + 15_000;
  while (!existsSync(exitFile) && Date.now() < deadline) await sleep(200);
  assert.ok(existsSync(exitFile), 'the console exited after q');
  assert.equal(readFileSync(exitFile, 'utf8').trim(), '0', readFileSync(errFile, 'utf8'));
  assert.equal(readFileSync(errFile, 'utf8').replace(/\u001b\[\?25h/g, '').trim(), '', 'nothing on stderr');
  await sleep(300);
  assert.doesNotMatch(capture().join('\n'), /meter ● connected/, 'the alternate screen is gone');
});
