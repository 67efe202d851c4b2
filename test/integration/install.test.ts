// Installs meter as a host would: `npm pack`, then `npm install -g` of the tarball into a temporary
// prefix, and runs what it put on PATH: `meter --version`, `meter agent --help`, and a short real run
// of `meter-agent` (configured through the environment, as the systemd unit's env file does) against
// the test broker. The systemd units are checked with `systemd-analyze verify` against that install.
//
// better-sqlite3's install step downloads its prebuilt binding from its GitHub release (prebuild-install),
// and compiles it from source (about 2 minutes on two cores) when it cannot. This machine does not reach
// GitHub, so the test serves that release asset itself, on 127.0.0.1, built from the binding this
// checkout already has, through prebuild-install's own mirror setting: the install takes the path a
// host with internet access takes, and the suite stays within its time. The test checks the asset was
// fetched: the mirror answers from this process's event loop, so npm runs without blocking it, and the
// tarball asks for this checkout's better-sqlite3 because package.json pins it exactly (with a range,
// npm took the newest 12.x, the mirror had nothing for it, and every run compiled for two minutes).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { repoRoot, exited, collect } from '../helpers/cli.js';
import { testBrokers } from '../helpers/broker.js';
import { kcatReadTopic } from '../helpers/kcat.js';
import { AGENT_V8_FLAGS } from '../../src/agent/v8-flags.js';

const dir = mkdtempSync(join(tmpdir(), 'meter-install-'));
const prefix = join(dir, 'prefix');
const bin = (name: string) => join(prefix, 'bin', name);
const version = (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let agent: ChildProcess | undefined;
let mirror: Server | undefined;

after(async () => {
  mirror?.close();
  if (agent && agent.exitCode === null) {
    agent.kill('SIGKILL');
    await exited(agent);
  }
  rmSync(dir, { recursive: true, force: true });
});

function run(command: string, args: string[], options: { cwd?: string; timeout?: number; env?: NodeJS.ProcessEnv } = {}) {
  const r = spawnSync(command, args, { encoding: 'utf8', timeout: options.timeout ?? 60_000, cwd: options.cwd ?? dir, env: options.env ?? process.env });
  return { status: r.status, out: `${r.stdout ?? ''}${r.stderr ?? ''}`, stdout: r.stdout ?? '' };
}

let tarball = '';

test('npm pack holds what meter needs to run and nothing else', { timeout: 180_000 }, () => {
  const packed = run('npm', ['pack', '--pack-destination', dir], { cwd: repoRoot, timeout: 170_000 });
  assert.equal(packed.status, 0, packed.out);
  tarball = join(dir, readdirSync(dir).find((f) => f.endsWith('.tgz'))!);
  assert.ok(tarball.endsWith(`meter-${version}.tgz`), tarball);
  const files = run('tar', ['tzf', tarball]).stdout.trim().split('\n').map((f) => f.replace(/^package\//, ''));
  for (const needed of ['package.json', 'README.md', 'dist/src/cli.js', 'dist/src/agent-cli.js', 'patches/kafkajs+2.2.4.patch', 'examples/systemd/meter-agent.service', 'examples/systemd/meter-worker.service']) {
    assert.ok(files.includes(needed), `${needed} is in the package`);
  }
  const stray = files.filter((f) => f.startsWith('test/') || f.startsWith('dist/test/') || /\.(ts|tsx|map)$/.test(f) || f.startsWith('src/'));
  assert.deepEqual(stray, [], 'no tests, sources or source maps');
  // Only what runs and what a host's operator reads: compiled code, the patches applied at install, the
  // examples (rate card, systemd units) and the README.
  const unexpected = files.filter((f) => !/^(dist\/(src|components)\/.+\.js|patches\/[^/]+\.patch|examples\/.+|README\.md|package\.json|LICENSE)$/.test(f));
  assert.deepEqual(unexpected, [], 'nothing but compiled code, patches, examples and the README');
});

/**
 * Serves better-sqlite3's release asset as its GitHub release would (prebuild-install's URL layout:
 * v<version>/better-sqlite3-v<version>-node-v<abi>-<platform>-<arch>.tar.gz holding
 * build/Release/better_sqlite3.node), made from this checkout's binding. Returns the mirror's base URL.
 */
async function betterSqlite3Mirror(): Promise<{ url: string; asset: string; served: string[] }> {
  const pkgDir = join(repoRoot, 'node_modules', 'better-sqlite3');
  const { version: v } = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')) as { version: string };
  const asset = `better-sqlite3-v${v}-node-v${process.versions.modules}-${process.platform}-${process.arch}.tar.gz`;
  const archive = join(dir, asset);
  const packed = run('tar', ['czf', archive, '-C', pkgDir, 'build/Release/better_sqlite3.node']);
  assert.equal(packed.status, 0, packed.out);
  const body = readFileSync(archive);
  const served: string[] = [];
  mirror = createServer((req, res) => {
    served.push(req.url ?? '');
    if (req.url === `/v${v}/${asset}`) {
      res.writeHead(200, { 'content-type': 'application/gzip', 'content-length': body.length });
      res.end(body);
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => mirror!.listen(0, '127.0.0.1', resolve));
  const address = mirror.address();
  return { url: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`, asset: `/v${v}/${asset}`, served };
}

test('npm install -g of the tarball gives a working meter and meter-agent on PATH', { timeout: 600_000 }, async () => {
  assert.ok(tarball, 'packed');
  // The install steps npm is to run: ours applies the kafkajs patch, better-sqlite3's fetches its binding.
  const binding = await betterSqlite3Mirror();
  const env = { ...process.env, npm_config_better_sqlite3_binary_host: binding.url };
  // Without blocking this process: the mirror is served from its event loop.
  const installed = await collect('npm', ['install', '-g', '--prefix', prefix, '--allow-scripts=meter,better-sqlite3', '--no-audit', '--no-fund', tarball], { timeoutMs: 590_000, env });
  assert.equal(installed.code, 0, installed.stdout + installed.stderr);
  // Fetched, not compiled: the tarball asks for the better-sqlite3 this checkout runs (pinned exactly).
  assert.ok(binding.served.includes(binding.asset), `the binding was not fetched from the mirror (asked: ${binding.served.join(', ') || 'nothing'})`);
  // The ledger's engine loads in the installed tree (the worker, invoice and console need it).
  const installedSqlite = join(prefix, 'lib', 'node_modules', 'meter', 'node_modules', 'better-sqlite3');
  const sqlite = run(process.execPath, ['-e', `const D = require(${JSON.stringify(installedSqlite)}); console.log(new D(':memory:').prepare('select 40 + 2 as n').get().n)`]);
  assert.equal(sqlite.stdout.trim(), '42', sqlite.out);

  const v = run(bin('meter'), ['--version']);
  assert.equal(v.status, 0, v.out);
  assert.equal(v.stdout.trim(), version);
  for (const help of [run(bin('meter'), ['agent', '--help']), run(bin('meter-agent'), ['--help'])]) {
    assert.equal(help.status, 0, help.out);
    assert.match(help.stdout, /--brokers/);
    assert.match(help.stdout, /--metrics/);
  }
  const requestQueue = readFileSync(join(prefix, 'lib', 'node_modules', 'meter', 'node_modules', 'kafkajs', 'src', 'network', 'requestQueue', 'index.js'), 'utf8');
  assert.match(requestQueue, /meter: with nothing pending/, 'the kafkajs patch was applied at install');

  // A short real run, configured as the systemd unit's environment file does.
  const brokers = await testBrokers();
  const topic = `install_${process.pid}_${Date.now()}`;
  let log = '';
  agent = spawn(bin('meter-agent'), ['--topic', topic, '--interval', '1', '--machine', 'installed-1'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, METER_HOME: join(dir, 'home'), METER_BROKERS: brokers, METER_LABEL: 'team=install' },
  });
  agent.stdout!.on('data', (d) => (log += d));
  agent.stderr!.on('data', (d) => (log += d));
  const deadline = Date.now() + 60_000;
  let payloads: string[] = [];
  while (payloads.length < 2) {
    assert.ok(Date.now() < deadline, `no samples from the installed agent: ${log}`);
    await sleep(500);
    try {
      payloads = kcatReadTopic(brokers, topic).map((m) => m.payload ?? '');
    } catch {
      // topic not there yet
    }
  }
  // Launched by its shebang line with the agent's V8 flags.
  const cmdline = readFileSync(`/proc/${agent.pid}/cmdline`, 'utf8').split('\0');
  for (const flag of AGENT_V8_FLAGS) assert.ok(cmdline.includes(flag), `${flag} in ${cmdline.join(' ')}`);
  agent.kill('SIGTERM');
  assert.equal(await exited(agent), 0, log);
  const sample = JSON.parse(payloads[0]!) as { machine: string; labels: Record<string, string> };
  assert.equal(sample.machine, 'installed-1');
  assert.deepEqual(sample.labels, { team: 'install' });
});

const hasSystemdAnalyze = spawnSync('systemd-analyze', ['--version']).status === 0;

test('the systemd units verify against the installed binaries', { skip: !hasSystemdAnalyze && 'systemd-analyze is not installed' }, () => {
  assert.ok(tarball, 'installed');
  for (const unit of ['meter-agent.service', 'meter-worker.service']) {
    const text = readFileSync(join(repoRoot, 'examples', 'systemd', unit), 'utf8');
    assert.match(text, /^ExecStart=\/usr\/local\/bin\/meter/m);
    const path = join(dir, unit);
    writeFileSync(path, text.replace(/\/usr\/local\/bin\//g, `${prefix}/bin/`));
    const verified = run('systemd-analyze', ['verify', '--man=no', path]);
    assert.equal(verified.status, 0, verified.out);
    assert.equal(verified.out.trim(), '', `systemd-analyze has something to say about ${unit}`);
  }
});
