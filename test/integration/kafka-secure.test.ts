// Managed Kafka for real: a broker with SASL_SSL (SCRAM users made at format time, TLS from a CA of
// its own), mutual TLS and SASL_PLAINTEXT listeners. meter's agent, worker, console and `up` connect
// to it; every bad set-up is one line and exit 2 naming what was wrong; the password shows in no
// output, log file or process argument list; the files meter writes are readable by their owner only.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { collect, meterArgv, spawnMeter, exited, type Collected } from '../helpers/cli.js';
import { testSecureBroker } from '../helpers/broker.js';
import { kcatReadTopic } from '../helpers/kcat.js';
import { runKafkaTool, type SecureBrokerInfo } from '../../src/kafka/local-broker.js';
import { ensureTlsMaterial, type TlsMaterial } from '../../src/kafka/tls-material.js';
import { checkSample, DEFAULT_LATE_LIMIT_MS } from '../../src/schema/sample.js';

const dir = mkdtempSync(join(tmpdir(), 'meter-secure-'));
let secure: SecureBrokerInfo;
let password: string;
let other: TlsMaterial;
const children: ChildProcess[] = [];
const suffix = `${process.pid}_${Date.now()}`;

before(async () => {
  secure = await testSecureBroker();
  password = readFileSync(secure.passwordFile, 'utf8').trim();
  // Another CA, with a client certificate of its own: trusted by nobody here.
  other = ensureTlsMaterial(join(dir, 'other-ca'));
});
after(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Result = Collected;

/** Runs meter to completion without blocking the event loop. */
const meter = (args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 90_000): Promise<Result> =>
  collect(process.execPath, meterArgv(args), { env: { ...process.env, ...env }, timeoutMs });

/** Every process on the machine whose argument list holds the secret (none may). */
function argvHolding(secret: string): string[] {
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .flatMap((pid) => {
      try {
        const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
        return argv.includes(secret) ? [`${pid}: ${argv.split('\0').join(' ')}`] : [];
      } catch {
        return [];
      }
    });
}

/** Every file under a directory, recursively. */
function filesUnder(path: string): string[] {
  return readdirSync(path, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? [join(path, e.name), ...filesUnder(join(path, e.name))] : [join(path, e.name)]));
}

function assertOwnerOnly(path: string): void {
  const mode = statSync(path).mode & 0o777;
  assert.equal(mode & 0o077, 0, `${path} is ${mode.toString(8)}: readable by others than its owner`);
}

const sasl = (mechanism: string, user = secure.username, passwordFile = secure.passwordFile) => [
  '--sasl-mechanism',
  mechanism,
  '--sasl-username',
  user,
  '--sasl-password-file',
  passwordFile,
];

test('SCRAM over TLS: an agent publishes, a worker bills, the console reads, Kafka itself reads it back; no password anywhere', { timeout: 180_000 }, async () => {
  const home = join(dir, 'home-scram', 'meter'); // not there yet: meter makes it
  const env = { ...process.env, METER_HOME: home };
  const topic = `secure_usage_${suffix}`;
  const group = `billing_${suffix}`;
  const tls = ['--brokers', secure.saslSslBrokers, '--tls-ca', secure.caFile, '--topic', topic];
  let agentLog = '';
  let workerLog = '';
  const agent = spawnMeter(['agent', ...tls, ...sasl('scram-sha-512'), '--interval', '1', '--machine', 'secure-1', '--log-level', 'debug'], { env });
  agent.stderr!.on('data', (d) => (agentLog += d));
  agent.stdout!.on('data', (d) => (agentLog += d));
  // The worker gets the password from the environment, with the other SCRAM mechanism.
  const worker = spawnMeter(['worker', ...tls, '--sasl-mechanism', 'scram-sha-256', '--sasl-username', secure.username, '--group', group, '--log-level', 'debug'], {
    env: { ...env, METER_SASL_PASSWORD: password },
  });
  worker.stderr!.on('data', (d) => (workerLog += d));
  worker.stdout!.on('data', (d) => (workerLog += d));
  children.push(agent, worker);

  // Billed: the invoice (from the ledger in METER_HOME) has the machine.
  const deadline = Date.now() + 120_000;
  let invoice: { lines: { key: string }[] } | undefined;
  for (;;) {
    const r = await meter(['invoice', '--format', 'json'], { METER_HOME: home });
    if (r.code === 0) {
      invoice = JSON.parse(r.stdout) as { lines: { key: string }[] };
      if (invoice.lines.some((l) => l.key === 'secure-1')) break;
    }
    if (Date.now() > deadline) assert.fail(`nothing billed over SASL_SSL; agent:\n${agentLog}\nworker:\n${workerLog}\ninvoice: ${r.stderr}`);
    await sleep(1000);
  }
  assert.deepEqual(argvHolding(password), [], 'no process has the password in its argument list');

  // The console over the same listener, logging in with PLAIN (over TLS).
  const snapshot = await meter(['console', '--once', '--json', ...tls, ...sasl('plain'), '--group', group, '--interval', '1'], { METER_HOME: home });
  assert.equal(snapshot.code, 0, snapshot.stderr);
  const machines = (JSON.parse(snapshot.stdout) as { machines: { machine: string }[] }).machines.map((m) => m.machine);
  assert.ok(machines.includes('secure-1'), snapshot.stdout);

  // Kafka's own console consumer, an independent client, logs in with SCRAM-SHA-512 over TLS.
  const clientConfig = join(dir, 'client.properties');
  writeFileSync(
    clientConfig,
    [
      'security.protocol=SASL_SSL',
      'sasl.mechanism=SCRAM-SHA-512',
      `sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="${secure.username}" password="${password}";`,
      'ssl.truststore.type=PEM',
      `ssl.truststore.location=${secure.caFile}`,
    ].join('\n'),
    { mode: 0o600 },
  );
  const read = await runKafkaTool(
    'org.apache.kafka.tools.consumer.ConsoleConsumer',
    ['--bootstrap-server', secure.saslSslBrokers, '--topic', topic, '--from-beginning', '--max-messages', '3', '--timeout-ms', '30000', '--consumer.config', clientConfig, '--property', 'print.key=true', '--property', 'key.separator=|'],
    { timeoutMs: 90_000 },
  );
  const lines = read.stdout.split('\n').filter((l) => l.startsWith('secure-1|'));
  assert.equal(lines.length, 3, `Kafka's console consumer did not read 3 samples: ${read.stderr.slice(-2000)}`);
  for (const line of lines) {
    const checked = checkSample(line.slice('secure-1|'.length), 'secure-1', { now: Date.now(), lateLimitMs: DEFAULT_LATE_LIMIT_MS });
    assert.ok(checked.ok, checked.ok ? '' : checked.reason);
  }

  agent.kill('SIGTERM');
  worker.kill('SIGTERM');
  assert.equal(await exited(agent), 0, agentLog);
  assert.equal(await exited(worker), 0, workerLog);
  for (const [name, text] of [['agent', agentLog], ['worker', workerLog], ['console', snapshot.stdout + snapshot.stderr]] as const) {
    assert.ok(text.length > 0);
    assert.ok(!text.includes(password), `the ${name}'s output holds the password`);
  }

  // Owner-only: METER_HOME, the ledger, the spool and everything in them.
  assertOwnerOnly(home);
  const written = filesUnder(home);
  assert.ok(written.some((f) => f.endsWith('ledger.db')), written.join('\n'));
  assert.ok(written.some((f) => f.includes(join('spool', 'secure-1'))), written.join('\n'));
  for (const f of written) assertOwnerOnly(f);
});

test('mutual TLS: an agent with a client certificate publishes, as kcat sees on the plaintext listener', { timeout: 120_000 }, async () => {
  const topic = `secure_mtls_${suffix}`;
  const env = { ...process.env, METER_HOME: join(dir, 'home-mtls') };
  const agent = spawnMeter(
    ['agent', '--brokers', secure.mtlsBrokers, '--tls-ca', secure.caFile, '--tls-cert', secure.clientCertFile, '--tls-key', secure.clientKeyFile, '--topic', topic, '--interval', '1', '--machine', 'mtls-1'],
    { env },
  );
  children.push(agent);
  let log = '';
  agent.stderr!.on('data', (d) => (log += d));
  const deadline = Date.now() + 60_000;
  let seen = 0;
  while (seen < 2) {
    try {
      seen = kcatReadTopic(secure.plaintextBrokers, topic).filter((m) => m.key === 'mtls-1').length;
    } catch {
      // the topic is not there yet
    }
    if (Date.now() > deadline) assert.fail(`nothing published over mutual TLS:\n${log}`);
    await sleep(500);
  }
  agent.kill('SIGTERM');
  assert.equal(await exited(agent), 0, log);
});

test('SASL PLAIN without TLS is refused unless --allow-plaintext-sasl, which then works', { timeout: 120_000 }, async () => {
  const topic = `secure_plain_${suffix}`;
  const env = { METER_HOME: join(dir, 'home-plain') };
  const refused = await meter(['agent', '--brokers', secure.saslPlaintextBrokers, '--topic', topic, ...sasl('plain')], env);
  assert.equal(refused.code, 2, refused.stderr);
  assert.equal(refused.stderr, 'meter: --sasl-mechanism plain without TLS would send the password in clear: add --tls (or --tls-ca), or --allow-plaintext-sasl if you mean it\n');

  const agent = spawnMeter(['agent', '--brokers', secure.saslPlaintextBrokers, '--topic', topic, ...sasl('plain'), '--allow-plaintext-sasl', '--interval', '1', '--machine', 'plain-1'], {
    env: { ...process.env, ...env },
  });
  children.push(agent);
  let log = '';
  agent.stderr!.on('data', (d) => (log += d));
  const deadline = Date.now() + 60_000;
  for (;;) {
    let seen = 0;
    try {
      seen = kcatReadTopic(secure.plaintextBrokers, topic).length;
    } catch {
      // not yet
    }
    if (seen >= 1) break;
    if (Date.now() > deadline) assert.fail(`nothing published with --allow-plaintext-sasl:\n${log}`);
    await sleep(500);
  }
  agent.kill('SIGTERM');
  assert.equal(await exited(agent), 0, log);
  assert.ok(!log.includes(password));
});

test('every bad set-up is one line and exit 2, naming what was wrong and never the password', { timeout: 300_000 }, async () => {
  const wrongPassword = join(dir, 'wrong.password');
  writeFileSync(wrongPassword, 'not-the-password\n', { mode: 0o600 });
  const topic = `secure_bad_${suffix}`;
  const ca = ['--tls-ca', secure.caFile];
  const host = (address: string) => address.replace(/^[^:]+:/, 'localhost:');
  const cases: { name: string; args: string[]; env?: NodeJS.ProcessEnv; line: RegExp }[] = [
    {
      name: 'wrong password (agent, SCRAM-SHA-512)',
      args: ['agent', '--brokers', secure.saslSslBrokers, ...ca, ...sasl('scram-sha-512', secure.username, wrongPassword)],
      line: /^meter: Kafka at 127\.0\.0\.1:\d+ refused the SASL login of user "meter" \(SCRAM-SHA-512\): wrong password, unknown user/,
    },
    {
      name: 'wrong password from the environment (worker, SCRAM-SHA-256)',
      args: ['worker', '--brokers', secure.saslSslBrokers, ...ca, '--sasl-mechanism', 'scram-sha-256', '--sasl-username', secure.username],
      env: { METER_SASL_PASSWORD: 'not-the-password' },
      line: /^meter: Kafka at .* refused the SASL login of user "meter" \(SCRAM-SHA-256\)/,
    },
    {
      name: 'unknown user (console)',
      args: ['console', '--once', '--brokers', secure.saslSslBrokers, ...ca, ...sasl('scram-sha-512', 'nobody')],
      line: /^meter: Kafka at .* refused the SASL login of user "nobody" \(SCRAM-SHA-512\): wrong password, unknown user/,
    },
    {
      name: 'a CA that does not match (agent)',
      args: ['agent', '--brokers', secure.saslSslBrokers, '--tls-ca', other.caFile, ...sasl('scram-sha-512')],
      line: /^meter: the TLS certificate of Kafka at 127\.0\.0\.1:\d+ is not signed by a CA meter trusts \(SELF_SIGNED_CERT_IN_CHAIN\): give the broker's CA certificate with --tls-ca FILE$/,
    },
    {
      name: 'no CA at all: the system CAs do not know it (worker)',
      args: ['worker', '--brokers', secure.saslSslBrokers, '--tls', ...sasl('scram-sha-512')],
      line: /^meter: the TLS certificate of Kafka at .* is not signed by a CA meter trusts/,
    },
    {
      name: 'a certificate for another host name (agent)',
      args: ['agent', '--brokers', host(secure.saslSslBrokers), ...ca, ...sasl('scram-sha-512')],
      line: /^meter: the TLS certificate of Kafka at localhost:\d+ is for another host name \(ERR_TLS_CERT_ALTNAME_INVALID\)/,
    },
    {
      name: 'TLS to a plaintext port (console)',
      args: ['console', '--once', '--brokers', secure.plaintextBrokers, ...ca],
      line: /^meter: Kafka at 127\.0\.0\.1:\d+ is a plaintext port, not TLS: drop --tls\/--tls-ca, or give the broker's TLS port in --brokers$/,
    },
    {
      name: 'plaintext to a TLS port (agent)',
      args: ['agent', '--brokers', secure.saslSslBrokers, ...sasl('scram-sha-512')],
      line: /^meter: Kafka at 127\.0\.0\.1:\d+ speaks TLS: add --tls/,
    },
    {
      name: 'plaintext to the mutual-TLS port (worker)',
      args: ['worker', '--brokers', secure.mtlsBrokers],
      line: /^meter: Kafka at 127\.0\.0\.1:\d+ speaks TLS: add --tls/,
    },
    {
      name: 'mutual TLS without a client certificate (agent)',
      args: ['agent', '--brokers', secure.mtlsBrokers, ...ca],
      line: /^meter: Kafka at 127\.0\.0\.1:\d+ requires a client certificate \(ERR_SSL_\w+\): give --tls-cert FILE and --tls-key FILE$/,
    },
    {
      name: 'mutual TLS with a certificate from another CA (console)',
      args: ['console', '--once', '--brokers', secure.mtlsBrokers, ...ca, '--tls-cert', other.clientCertFile, '--tls-key', other.clientKeyFile],
      line: /^meter: Kafka at 127\.0\.0\.1:\d+ did not accept the client certificate of --tls-cert \(ERR_SSL_\w+\)/,
    },
    {
      name: 'SASL on a port without SASL (agent)',
      args: ['agent', '--brokers', secure.plaintextBrokers, ...sasl('scram-sha-512')],
      line: /^meter: Kafka at .* does not use SASL on this port/,
    },
    {
      name: 'a key that is not the certificate\'s (agent)',
      args: ['agent', '--brokers', secure.mtlsBrokers, ...ca, '--tls-cert', secure.clientCertFile, '--tls-key', other.clientKeyFile],
      line: /^meter: --tls-key: .* is not the key of the certificate in --tls-cert/,
    },
    {
      name: 'a password on the command line (worker)',
      args: ['worker', '--brokers', secure.saslSslBrokers, ...ca, '--sasl-mechanism', 'scram-sha-512', '--sasl-username', secure.username, '--sasl-password', password],
      line: /^meter: --sasl-password: no flag takes a password \(it would show in the process list and shell history\); set METER_SASL_PASSWORD or give --sasl-password-file FILE$/,
    },
  ];
  // Three at a time: each is a real login (or handshake) against the broker.
  const results: [string, Result][] = [];
  for (let i = 0; i < cases.length; i += 3) {
    const batch = cases.slice(i, i + 3);
    const done = await Promise.all(batch.map((c) => meter([...c.args, '--topic', topic], { METER_HOME: join(dir, 'home-bad'), ...c.env })));
    batch.forEach((c, j) => results.push([c.name, done[j]!]));
  }
  for (const [i, [name, r]] of results.entries()) {
    const c = cases[i]!;
    assert.equal(r.code, 2, `${name}: exit ${r.code}\n${r.stderr}`);
    const lines = r.stderr.split('\n').filter(Boolean);
    assert.equal(lines.length, 1, `${name}: not one line:\n${r.stderr}`);
    assert.match(lines[0]!, c.line, name);
    assert.equal(r.stdout, '', name);
    assert.ok(!r.stderr.includes(password) && !r.stderr.includes('not-the-password'), `${name}: the password is in the output`);
  }
});

test('meter up --headless over SCRAM and TLS: its children log in with the same flags; no password in logs or argument lists', { timeout: 180_000 }, async () => {
  const home = join(dir, 'home-up');
  const topic = `secure_up_${suffix}`;
  const up = spawnMeter(
    ['up', '--headless', '--brokers', secure.saslSslBrokers, '--tls-ca', secure.caFile, ...sasl('scram-sha-512'), '--topic', topic, '--group', `billing_up_${suffix}`, '--fleet', '3', '--interval', '1', '--machine', 'up-host'],
    { env: { ...process.env, METER_HOME: home } },
  );
  children.push(up);
  let out = '';
  up.stdout!.on('data', (d) => (out += d));
  up.stderr!.on('data', (d) => (out += d));
  const deadline = Date.now() + 120_000;
  for (;;) {
    const r = await meter(['invoice', '--format', 'json'], { METER_HOME: home });
    if (r.code === 0 && (JSON.parse(r.stdout) as { lines: { key: string }[] }).lines.some((l) => l.key === 'up-host')) break;
    if (Date.now() > deadline || up.exitCode !== null) assert.fail(`meter up billed nothing over SASL_SSL:\n${out}`);
    await sleep(1000);
  }
  assert.deepEqual(argvHolding(password), []);
  up.kill('SIGTERM');
  assert.equal(await exited(up), 0, out);
  assert.ok(!out.includes(password));
  const logs = filesUnder(join(home, 'logs'));
  assert.deepEqual(logs.map((f) => f.split('/').at(-1)).sort(), ['agent.log', 'fleet.log', 'worker.log']);
  for (const log of logs) {
    assert.ok(!readFileSync(log, 'utf8').includes(password), `${log} holds the password`);
    assertOwnerOnly(log);
  }
  assertOwnerOnly(home);
});

test("a secured broker's password file, keys and properties are its owner's only", () => {
  const dataDir = dirname(dirname(secure.passwordFile));
  const secret = [secure.passwordFile, secure.clientKeyFile, join(dirname(secure.caFile), 'broker.p12'), join(dirname(secure.caFile), 'ca.key'), join(dataDir, 'server.properties')];
  for (const f of secret) {
    assert.ok(existsSync(f), f);
    assertOwnerOnly(f);
  }
  assertOwnerOnly(dirname(secure.passwordFile));
  // The broker's own log names the listeners but holds no password.
  const log = readFileSync(join(dataDir, 'broker.log'), 'utf8');
  assert.match(log, /SASL_SSL:\/\/127\.0\.0\.1/);
  assert.ok(!log.includes(password), 'the broker log holds the password');
});
