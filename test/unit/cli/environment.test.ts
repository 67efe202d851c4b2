// METER_* variables: only the running command's declared options are read from the environment, so
// unrelated ones on a host do not break commands; --home and the log level reach the code that uses
// them through the resolved configuration, never by writing process.env.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { runMeter, spawnMeter } from '../../helpers/cli.js';
import { main } from '../../../src/cli/main.js';
import { createLogger } from '../../../src/log/logger.js';

const dir = mkdtempSync(join(tmpdir(), 'meter-env-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** The test process's environment without any METER_* variable, plus these. */
const env = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => {
  const e: NodeJS.ProcessEnv = { ...process.env };
  for (const k of Object.keys(e)) if (k.startsWith('METER_') && !k.startsWith('METER_TEST_')) delete e[k];
  return { ...e, METER_HOME: join(dir, 'env-home'), ...extra };
};
const unrelated = { METER_FOO: '1', METER_OLD_SETTING: 'x', METER_SASL_PASSWORD: 'not-a-flag' };

/** Runs main() in this process, returning what it wrote to stderr and its exit code. */
async function mainInProcess(args: string[], environment: NodeJS.ProcessEnv): Promise<{ stderr: string; code: number }> {
  const write = process.stderr.write;
  let stderr = '';
  process.stderr.write = ((chunk: string) => ((stderr += chunk), true)) as typeof process.stderr.write;
  try {
    await main(args, environment);
  } finally {
    process.stderr.write = write;
  }
  const code = Number(process.exitCode ?? 0);
  process.exitCode = 0;
  return { stderr, code };
}

test('unknown METER_* variables do not break invoice, worker --help or agent parsing', () => {
  const invoice = runMeter(['invoice'], { env: env(unrelated) });
  assert.equal(invoice.status, 1, invoice.stderr);
  assert.match(invoice.stderr, /ledger .*env-home\/ledger\.db not found/);
  assert.doesNotMatch(invoice.stderr, /Unknown argument/);

  const help = runMeter(['worker', '--help'], { env: env(unrelated) });
  assert.equal(help.status, 0, help.stderr);
  assert.match(help.stdout, /--ledger/);

  // Parsing got through to the command's own checks: the error is about --interval, not METER_FOO.
  const agent = runMeter(['agent', '--interval', '-1'], { env: env(unrelated) });
  assert.equal(agent.status, 2, agent.stderr);
  assert.match(agent.stderr, /^meter: --interval: -1 is not allowed/);
});

test('unknown flags and config keys are still refused', () => {
  const flag = runMeter(['invoice', '--foo', '1'], { env: env(unrelated) });
  assert.equal(flag.status, 2);
  assert.match(flag.stderr, /Unknown argument: foo/);
  const config = join(dir, 'unknown-key.json');
  writeFileSync(config, JSON.stringify({ foo: 1 }));
  const key = runMeter(['invoice', '--config', config], { env: env(unrelated) });
  assert.equal(key.status, 2);
  assert.match(key.stderr, /Unknown argument: foo/);
  // METER_CONFIG names the file as --config does.
  const fromEnv = runMeter(['invoice'], { env: env({ METER_CONFIG: config }) });
  assert.equal(fromEnv.status, 2);
  assert.match(fromEnv.stderr, /Unknown argument: foo/);
});

test('a known variable applies, coerced by type, and a flag wins over it', () => {
  const fromEnv = runMeter(['invoice'], { env: env({ ...unrelated, METER_LEDGER: join(dir, 'from-env.db') }) });
  assert.match(fromEnv.stderr, /from-env\.db not found/);
  const fromFlag = runMeter(['invoice', '--ledger', join(dir, 'from-flag.db')], { env: env({ METER_LEDGER: join(dir, 'from-env.db') }) });
  assert.match(fromFlag.stderr, /from-flag\.db not found/);

  const badNumber = runMeter(['agent'], { env: env({ METER_INTERVAL: 'often' }) });
  assert.equal(badNumber.status, 2);
  assert.equal(badNumber.stderr.trim(), 'meter: METER_INTERVAL: "often" is not a number (for --interval)');
  const badBoolean = runMeter(['agent'], { env: env({ METER_TLS: 'maybe' }) });
  assert.equal(badBoolean.status, 2);
  assert.match(badBoolean.stderr, /^meter: METER_TLS: "maybe" is not true or false/);
  // A choice from the environment is still checked against the choices.
  const badChoice = runMeter(['invoice'], { env: env({ METER_LOG_LEVEL: 'loud' }) });
  assert.equal(badChoice.status, 2);
  assert.equal(badChoice.stderr.trim(), 'meter: METER_LOG_LEVEL: "loud" is not one of debug, info, warn, error (for --log-level)');
  // A positional is never taken from the environment: METER_ACTION does not turn `status` into `start`.
  const kafka = runMeter(['kafka', 'status', '--json'], { env: env({ METER_ACTION: 'start' }) });
  assert.equal(kafka.status, 0, kafka.stderr);
  assert.equal(JSON.parse(kafka.stdout).running, false);
});

test('--home moves the default ledger without writing process.env', async () => {
  const before = process.env.METER_HOME;
  const home = join(dir, 'flag-home');
  const r = await mainInProcess(['invoice', '--home', home], env(unrelated));
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, new RegExp(`ledger ${home}/ledger\\.db not found`));
  assert.equal(process.env.METER_HOME, before);
  // The environment main() is given is the one it reads: METER_HOME there, not in process.env.
  const envHome = join(dir, 'param-home');
  const fromParam = await mainInProcess(['invoice'], env({ METER_HOME: envHome }));
  assert.match(fromParam.stderr, new RegExp(`ledger ${envHome}/ledger\\.db not found`));
  assert.equal(process.env.METER_HOME, before);
});

test('the logger takes its level as a parameter, not from process.env', () => {
  const saved = process.env.METER_LOG_LEVEL;
  process.env.METER_LOG_LEVEL = 'error';
  try {
    const lines: string[] = [];
    const stream = { write: (s: string) => (lines.push(s), true), isTTY: false } as unknown as NodeJS.WritableStream;
    createLogger({ stream }).info('shown at the default level');
    createLogger({ stream, level: 'warn' }).info('hidden at warn');
    assert.deepEqual(lines.map((l) => JSON.parse(l).msg), ['shown at the default level']);
  } finally {
    if (saved === undefined) delete process.env.METER_LOG_LEVEL;
    else process.env.METER_LOG_LEVEL = saved;
  }
});

test('an agent puts its spool under --home and logs at the level of --log-level over METER_LOG_LEVEL', async () => {
  const home = join(dir, 'agent-home');
  // Port 1 refuses at once: the agent spools and keeps retrying, logging its retries at debug.
  const agent = spawnMeter(['agent', '--home', home, '--brokers', '127.0.0.1:1', '--interval', '0.2', '--machine', 'm1', '--log-level', 'debug'], {
    env: env({ METER_LOG_LEVEL: 'error' }),
  });
  let stderr = '';
  agent.stderr!.on('data', (chunk: Buffer) => (stderr += chunk));
  try {
    const deadline = Date.now() + 30_000;
    while (!(existsSync(join(home, 'spool', 'm1')) && /"level":"debug"/.test(stderr)) && Date.now() < deadline) {
      if (agent.exitCode !== null) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(existsSync(join(home, 'spool', 'm1')), `spool under --home; stderr: ${stderr}`);
    assert.match(stderr, /"level":"debug"/);
    assert.ok(!existsSync(join(dir, 'env-home', 'spool')), 'nothing under METER_HOME when --home is given');
  } finally {
    agent.kill('SIGKILL');
    if (agent.exitCode === null && agent.signalCode === null) await once(agent, 'exit');
  }
});

test("a child of `meter up` (METER_EXIT_WITH_PARENT=1) stops when its stdin closes", async () => {
  const home = join(dir, 'child-home');
  const agent = spawnMeter(['agent', '--home', home, '--brokers', '127.0.0.1:1', '--interval', '0.2', '--machine', 'm2'], {
    env: env({ METER_EXIT_WITH_PARENT: '1', METER_LOG_LEVEL: 'info' }),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  agent.stderr!.on('data', (chunk: Buffer) => (stderr += chunk));
  try {
    const deadline = Date.now() + 30_000;
    while (!/agent started/.test(stderr) && agent.exitCode === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    assert.match(stderr, /agent started/);
    agent.stdin!.end();
    const exited = await Promise.race([once(agent, 'exit').then(() => true), new Promise((r) => setTimeout(() => r(false), 20_000))]);
    assert.ok(exited, `the agent exits when its parent's pipe closes; stderr: ${stderr}`);
  } finally {
    if (agent.exitCode === null && agent.signalCode === null) {
      agent.kill('SIGKILL');
      await once(agent, 'exit');
    }
  }
});
