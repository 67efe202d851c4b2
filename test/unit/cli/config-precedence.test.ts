// Flags, then METER_* variables, then the --config file, then defaults; bad values exit 2 in one line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runMeter } from '../../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'meter-cli-'));
const env = (extra: Record<string, string> = {}) => {
  const e: NodeJS.ProcessEnv = { ...process.env, METER_HOME: dir, ...extra };
  for (const k of Object.keys(e)) if (k.startsWith('METER_') && !(k in extra) && k !== 'METER_HOME') delete e[k];
  return e;
};
// An invalid --interval is reported with the value that won, before anything connects.
const intervalError = (args: string[], extra?: Record<string, string>) => {
  const r = runMeter(['agent', ...args], { env: env(extra) });
  assert.equal(r.status, 2, r.stderr);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `one line: ${r.stderr}`);
  return lines[0]!;
};

test('a flag wins over the environment, which wins over the config file', () => {
  const config = join(dir, 'meter.yaml');
  writeFileSync(config, 'interval: -3\n');
  assert.match(intervalError(['--config', config]), /--interval: -3 is not allowed/);
  assert.match(intervalError(['--config', config], { METER_INTERVAL: '-2' }), /--interval: -2 is not allowed/);
  assert.match(intervalError(['--config', config, '--interval', '-1'], { METER_INTERVAL: '-2' }), /--interval: -1 is not allowed/);
});

test('bad flags and config files get one line and exit 2', () => {
  assert.match(intervalError(['--bogus']), /Unknown argument: bogus/);
  assert.match(intervalError(['--label', 'novalue']), /--label: "novalue" is not key=value/);
  assert.match(intervalError(['--brokers', 'nohostport']), /--brokers: "nohostport" is not host:port/);
  assert.match(intervalError(['--config', join(dir, 'missing.json')]), /--config: cannot read/);
  const broken = join(dir, 'broken.json');
  writeFileSync(broken, '{"interval": ');
  assert.match(intervalError(['--config', broken]), /--config: .*broken.json is not valid JSON/);
  const unknown = runMeter(['frobnicate'], { env: env() });
  assert.equal(unknown.status, 2);
});

test('--help lists the working commands and explains every flag with its default', () => {
  const top = runMeter(['--help'], { env: env() });
  assert.equal(top.status, 0);
  for (const command of ['agent', 'worker', 'invoice', 'console', 'kafka', 'up']) assert.match(top.stdout, new RegExp(`meter ${command}`));
  const agent = runMeter(['agent', '--help'], { env: env() });
  for (const flag of ['--brokers', '--topic', '--interval', '--machine', '--label', '--spool', '--simulate']) assert.match(agent.stdout, new RegExp(flag));
  assert.match(agent.stdout, /\[default: 5\]/);
});
