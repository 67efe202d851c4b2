// The README's run command as a newcomer sees it: `npm start` in a fresh clone, in a real terminal
// (tmux at 120x40). The console shows this host with a cost; q exits and leaves nothing running.
// The clone shares this checkout's node_modules (a second `npm ci` would only rebuild the same
// packages) and builds dist/ as `npm ci`'s prepare step does.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import { repoRoot } from '../helpers/cli.js';
import { testBrokers } from '../helpers/broker.js';
import { skipWithout } from '../helpers/tools.js';

const tmuxMissing = skipWithout('tmux', 'tmux');
const isClone = existsSync(join(repoRoot, '.git'));
const dir = mkdtempSync(join(tmpdir(), 'meter-start-'));
const clone = join(dir, 'meter');
const home = join(dir, 'home');
const session = `meter-start-test-${process.pid}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
// A tmux server of the test's own, started with none of the suite's METER_* variables: a shared
// server would hand the console whatever environment another process started it with.
const tmuxEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('METER_')));
const tmux = (...args: string[]) => spawnSync('tmux', ['-L', session, ...args], { encoding: 'utf8', env: tmuxEnv });
const capture = () => tmux('capture-pane', '-t', session, '-p').stdout.replace(/\n$/, '').split('\n');
const shellQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

function processesOf(marker: string): string[] {
  return execFileSync('ps', ['-eo', 'pid,args'], { encoding: 'utf8' })
    .split('\n')
    .filter((line) => line.includes(marker) && !line.includes('ps -eo'));
}

after(() => {
  tmux('kill-server');
  for (const line of processesOf(clone)) {
    try {
      process.kill(Number(line.trim().split(/\s+/)[0]), 'SIGKILL');
    } catch {
      // gone
    }
  }
  rmSync(dir, { recursive: true, force: true });
});

test('npm start in a fresh clone at 120x40: this host with a cost, q exits, nothing left running', { skip: tmuxMissing || (!isClone && 'not a git checkout'), timeout: 240_000 }, async () => {
  const brokers = await testBrokers();
  execFileSync('git', ['clone', '--quiet', '--no-hardlinks', repoRoot, clone]);
  symlinkSync(join(repoRoot, 'node_modules'), join(clone, 'node_modules'));
  execFileSync(process.execPath, [join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], { cwd: clone });

  const exitFile = join(dir, 'exit');
  const command = `cd ${shellQuote(clone)} && METER_HOME=${shellQuote(home)} npm start -- --brokers ${brokers} --fleet 6 --interval 2 2>${shellQuote(join(dir, 'stderr'))}; echo $? > ${shellQuote(exitFile)}; sleep 60`;
  assert.equal(tmux('new-session', '-d', '-s', session, '-x', '120', '-y', '40', command).status, 0);

  const me = hostname();
  const deadline = Date.now() + 150_000;
  let rows: string[] = [];
  for (;;) {
    rows = capture();
    const mine = rows.find((r) => r.includes(` ${me} `) && /\$\d+\.\d+/.test(r));
    if (mine && /connected/.test(rows[0] ?? '')) break;
    if (Date.now() > deadline) {
      const err = existsSync(join(dir, 'stderr')) ? readFileSync(join(dir, 'stderr'), 'utf8') : '';
      assert.fail(`this host with a cost never showed; the screen:\n${rows.join('\n')}\nstderr:\n${err}`);
    }
    await sleep(500);
  }
  assert.ok(rows.length <= 40);
  for (const row of rows) assert.ok(row.length <= 120, `a row is ${row.length} wide`);

  tmux('send-keys', '-t', session, 'q');
  const quitDeadline = Date.now() + 30_000;
  while (!existsSync(exitFile)) {
    if (Date.now() > quitDeadline) assert.fail(`q did not end npm start; the screen:\n${capture().join('\n')}`);
    await sleep(300);
  }
  assert.equal(readFileSync(exitFile, 'utf8').trim(), '0', readFileSync(join(dir, 'stderr'), 'utf8'));
  await sleep(500);
  // Only the tmux session's own shell (sleeping so the pane stays readable) may remain.
  const left = processesOf(clone).filter((line) => !line.includes('tmux new-session') && !line.includes('sleep 60'));
  assert.deepEqual(left, [], 'nothing of npm start is left running');
});
