// A broker outage while the agent runs: every sample of the outage arrives once the broker is back,
// in order per machine, including across an agent restart during the outage.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnMeter, exited } from '../helpers/cli.js';
import { startPrivateBroker, type PrivateBroker } from '../helpers/broker.js';
import { kcatReadTopic } from '../helpers/kcat.js';
import { checkSample, DEFAULT_LATE_LIMIT_MS, type Sample } from '../../src/schema/sample.js';

let broker: PrivateBroker | undefined;
after(async () => broker?.dispose());

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function wireSamples(brokers: string, topic: string): Sample[] {
  try {
    return kcatReadTopic(brokers, topic).map((m) => {
      const c = checkSample(m.payload, m.key, { now: Date.now(), lateLimitMs: DEFAULT_LATE_LIMIT_MS });
      assert.ok(c.ok, c.ok ? '' : c.reason);
      return c.sample;
    });
  } catch (error) {
    if (error instanceof assert.AssertionError) throw error;
    return []; // broker or topic not there yet
  }
}

async function until(what: string, probe: () => boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(300);
  }
}

test('every sample taken during an outage (and across an agent restart) arrives in order', { timeout: 180_000 }, async () => {
  broker = await startPrivateBroker();
  const topic = 'resource_usage';
  const spool = mkdtempSync(join(tmpdir(), 'meter-outage-'));
  const args = ['agent', '--brokers', broker.brokers, '--topic', topic, '--interval', '1', '--machine', 'outage-1', '--spool', spool];
  let log = '';
  const start = () => {
    const child = spawnMeter(args);
    child.stderr?.on('data', (d) => (log += d));
    return child;
  };

  let agent = start();
  await until('3 samples before the outage', () => wireSamples(broker!.brokers, topic).length >= 3);
  await broker.stop();
  await sleep(4000); // sampling into the spool
  // The agent is restarted mid-outage: the spool and the last counters survive it.
  agent.kill('SIGKILL');
  await exited(agent);
  agent = start();
  await sleep(3000);
  await broker.start();
  // Let it replay the spool and publish a few fresh samples.
  await until('the spool replayed and fresh samples', () => {
    const s = wireSamples(broker!.brokers, topic);
    return s.length > 0 && Date.now() - s.at(-1)!.end < 1500 && s.length >= 12;
  });
  agent.kill('SIGTERM');
  assert.equal(await exited(agent), 0, log);

  const samples = wireSamples(broker.brokers, topic);
  // A repeat is acceptable only as the same sample again (an acknowledgement lost): same id, same body.
  const byId = new Map<string, string>();
  const unique: Sample[] = [];
  for (const s of samples) {
    const body = JSON.stringify(s);
    if (byId.has(s.id)) {
      assert.equal(byId.get(s.id), body, `id ${s.id} repeated with a different body`);
      continue;
    }
    byId.set(s.id, body);
    unique.push(s);
  }
  for (let i = 1; i < unique.length; i++) {
    assert.equal(unique[i]!.start, unique[i - 1]!.end, `gap or overlap before sample ${i} (${unique[i]!.id})`);
  }
  assert.ok(unique.length >= 12);
  assert.match(log, /broker unreachable; spooling/);
  // Said once per outage, not once per retry; the restarted agent says it once more.
  assert.ok((log.match(/broker unreachable; spooling/g) ?? []).length <= 2, log);
});
