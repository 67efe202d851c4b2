// `npm start`, then `npm test`, in that order, on one machine: the suite passes and leaves the user's
// ledger and topic as they were. The machine is a network namespace of this test's own, so the
// user's broker can sit on the default 127.0.0.1:9092 (as `npm start` puts it) without touching any
// broker of the real machine; the user's data is in a HOME of its own, with every default.
//
// The user: `meter kafka start` (the broker stays up), then `meter up --headless` (what `npm start`
// runs, without the console) until the fleet is billed, then quits. The tests: test/run.mjs (what
// `npm test` runs after the type check) on a careless test file that uses every default (topic
// resource_usage, group billing, the ledger in METER_HOME) and only the broker the runner gives it.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { meterArgv, repoRoot } from '../helpers/cli.js';
import { kafkaToolCommand, CONSUMER_GROUPS_MAIN } from '../../src/kafka/local-broker.js';
import { meterCache } from '../../src/config/paths.js';

const ns = `meter-herm-${process.pid}`;
const dir = mkdtempSync(join(tmpdir(), 'meter-hermetic-'));
const userHome = join(dir, 'user');
const userData = join(userHome, '.local', 'share', 'meter');
mkdirSync(userHome);

/** The user's environment: their own HOME, meter's defaults, no trace of a test run. */
const userEnv: NodeJS.ProcessEnv = { ...process.env, HOME: userHome, METER_CACHE: meterCache() };
for (const name of ['METER_HOME', 'METER_TEST_BROKERS', 'METER_TEST_SECURE', 'XDG_DATA_HOME', 'XDG_CACHE_HOME', 'NODE_TEST_CONTEXT']) delete userEnv[name];

/** argv run inside the namespace. */
const inNs = (argv: string[]) => ['ip', ['netns', 'exec', ns, ...argv]] as const;
const meterInNs = (args: string[]) => inNs([process.execPath, ...meterArgv(args)]);

function run(argv: readonly [string, readonly string[]], timeout = 120_000) {
  return spawnSync(argv[0], argv[1], { cwd: repoRoot, env: userEnv, encoding: 'utf8', timeout, maxBuffer: 1 << 26 });
}

after(() => {
  run(meterInNs(['kafka', 'stop']));
  spawnSync('ip', ['netns', 'del', ns]);
  rmSync(dir, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** What of the user's must not change: ledger bytes, topics, every message on resource_usage, group offsets. */
function userState(): Record<string, string> {
  const state: Record<string, string> = {};
  for (const name of readdirSync(userData).filter((n) => n.startsWith('ledger.db')).sort()) {
    state[`file ${name}`] = createHash('sha256').update(readFileSync(join(userData, name))).digest('hex');
  }
  const topics = run(inNs(['kcat', '-b', '127.0.0.1:9092', '-L']));
  assert.equal(topics.status, 0, topics.stderr);
  state.topics = topics.stdout
    .split('\n')
    .filter((l) => /^\s+topic "/.test(l))
    .map((l) => l.trim())
    .sort()
    .join('\n');
  const messages = run(inNs(['kcat', '-b', '127.0.0.1:9092', '-C', '-e', '-q', '-t', 'resource_usage', '-o', 'beginning', '-f', '%p %o %k %s\n']));
  assert.equal(messages.status, 0, messages.stderr);
  state.messages = createHash('sha256').update(messages.stdout.split('\n').sort().join('\n')).digest('hex');
  state.messageCount = String(messages.stdout.split('\n').filter(Boolean).length);
  const tool = kafkaToolCommand(CONSUMER_GROUPS_MAIN, ['--bootstrap-server', '127.0.0.1:9092', '--describe', '--group', 'billing', '--offsets']);
  const groups = run(inNs([tool.command, ...tool.args]));
  assert.equal(groups.status, 0, groups.stderr);
  state.billingOffsets = groups.stdout
    .split('\n')
    .filter((l) => l.startsWith('billing '))
    .map((l) => l.trim().split(/\s+/).slice(1, 5).join(' '))
    .sort()
    .join('\n');
  return state;
}

test('npm start, then npm test: the suite passes and the user\'s ledger and topic are untouched', { timeout: 480_000 }, async () => {
  const add = spawnSync('ip', ['netns', 'add', ns], { encoding: 'utf8' });
  assert.equal(add.status, 0, add.stderr);
  assert.equal(spawnSync('ip', ['-n', ns, 'link', 'set', 'lo', 'up']).status, 0);

  // The user's broker on the default port, and `npm start` until the fleet is billed.
  const broker = run(meterInNs(['kafka', 'start']), 240_000);
  assert.equal(broker.status, 0, broker.stderr);
  assert.match(broker.stdout, /brokers 127\.0\.0\.1:9092/);
  const [command, args] = meterInNs(['up', '--headless', '--fleet', '3', '--interval', '1']);
  const up = spawn(command, args, { cwd: repoRoot, env: userEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  let upOutput = '';
  up.stdout.on('data', (d) => (upOutput += d));
  up.stderr.on('data', (d) => (upOutput += d));
  const deadline = Date.now() + 120_000;
  for (;;) {
    const invoice = run(meterInNs(['invoice', '--format', 'json']));
    if (invoice.status === 0 && (JSON.parse(invoice.stdout) as { lines: unknown[] }).lines.length >= 3) break;
    if (Date.now() > deadline || up.exitCode !== null) assert.fail(`npm start billed nothing:\n${upOutput}`);
    await sleep(1000);
  }
  up.kill('SIGTERM');
  await new Promise((r) => (up.exitCode !== null ? r(null) : up.once('exit', r)));
  assert.equal(up.exitCode, 0, upOutput);
  assert.match(upOutput, /using the broker already running at 127\.0\.0\.1:9092/);
  assert.ok(existsSync(join(userData, 'ledger.db')));

  const before = userState();
  assert.ok(Number(before.messageCount) > 0);
  assert.match(before.billingOffsets ?? '', /resource_usage \d+ \d+/);

  // `npm test` (after its type check): the runner on a test that uses every default.
  const suite = run(inNs([process.execPath, join(repoRoot, 'test', 'run.mjs'), 'test/integration/fixtures/uses-defaults.ts']), 300_000);
  const suiteOutput = `${suite.stdout}\n${suite.stderr}`;
  assert.equal(suite.status, 0, suiteOutput);
  assert.match(suite.stdout, /^tests: 1 passed, 0 failed, 0 skipped$/m);
  assert.match(suite.stderr, /started a private Kafka at 127\.0\.0\.1:(?!9092\b)\d+/);

  assert.deepEqual(userState(), before, "the user's ledger, topics, messages or group offsets changed");
});
