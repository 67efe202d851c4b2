import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, appendFileSync, writeFileSync, readFileSync, statSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { Spool, type SpoolOptions } from '../../../src/agent/spool.js';
import { encodeLine } from '../../../src/agent/spool-format.js';
import { LOCK_FILE, currentHolder } from '../../../src/agent/spool-lock.js';
import { createLogger, silentLogger } from '../../../src/log/logger.js';

const records = (from: number, n: number) =>
  Array.from({ length: n }, (_, i) => ({ key: `m-${(from + i) % 3}`, value: JSON.stringify({ n: from + i, pad: 'x'.repeat(100) }) }));

const tempDir = () => mkdtempSync(join(tmpdir(), 'meter-spool-'));
const open = (dir: string, options: Partial<SpoolOptions> = {}) => Spool.open(dir, { maxBytes: 1 << 20, logger: silentLogger, ...options });
const segments = (dir: string) => readdirSync(dir).filter((f) => f.endsWith('.log')).sort();
const drain = (spool: Spool): number[] => {
  const seen: number[] = [];
  for (;;) {
    const b = spool.peek(1000);
    if (b.records.length === 0) return seen;
    seen.push(...b.records.map((r) => JSON.parse(r.value).n as number));
    spool.ack(b.next, b.records.length);
  }
};

function capture() {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (d) => (text += d));
  return { logger: createLogger({ stream, json: true, level: 'info' }), text: () => text };
}

test('records come back in order and leave only when acknowledged', () => {
  const spool = open(tempDir());
  spool.append(records(0, 10));
  const first = spool.peek(4);
  assert.deepEqual(first.records.map((r) => JSON.parse(r.value).n), [0, 1, 2, 3]);
  // Not acknowledged: the same records again.
  assert.deepEqual(spool.peek(4).records, first.records);
  spool.ack(first.next, first.records.length);
  assert.equal(spool.pending, 6);
  const rest = spool.peek(100);
  assert.deepEqual(rest.records.map((r) => JSON.parse(r.value).n), [4, 5, 6, 7, 8, 9]);
  assert.equal(rest.records[0]!.key, 'm-1');
  spool.close();
});

test('a restart keeps what was not acknowledged, and only that', () => {
  const dir = tempDir();
  const a = open(dir);
  a.append(records(0, 5));
  const batch = a.peek(2);
  a.ack(batch.next, 2);
  a.append(records(5, 3));
  a.close();
  const b = open(dir);
  assert.equal(b.pending, 6);
  assert.deepEqual(b.peek(100).records.map((r) => JSON.parse(r.value).n), [2, 3, 4, 5, 6, 7]);
  b.close();
});

test('spans many segments in order and deletes the ones fully delivered', () => {
  const dir = tempDir();
  const spool = open(dir, { maxBytes: 2 << 20 }); // 128 KiB segments
  for (let i = 0; i < 40; i++) spool.append(records(i * 100, 100));
  assert.ok(segments(dir).length > 3);
  const seen = drain(spool);
  assert.equal(seen.length, 4000);
  assert.ok(seen.every((n, i) => n === i));
  assert.equal(spool.pending, 0);
  assert.equal(segments(dir).length, 1);
  spool.close();
});

test('at the bound the oldest samples are dropped and counted, the newest kept', () => {
  const spool = open(tempDir()); // 64 KiB segments
  for (let i = 0; i < 100; i++) spool.append(records(i * 100, 100)); // ~1.4 MB
  assert.ok(spool.bytes <= 1 << 20, `spool holds ${spool.bytes} bytes`);
  assert.ok(spool.dropped > 0);
  assert.equal(spool.pending + spool.dropped, 10_000);
  const all = drain(spool);
  assert.equal(all.at(-1), 9999);
  assert.equal(all[0], spool.dropped);
  spool.close();
});

test('the state rides on the last record; a marker carries state alone and is never sent', () => {
  const dir = tempDir();
  const a = open(dir);
  a.append([], '{"s":0}');
  assert.equal(a.pending, 0);
  a.append(records(0, 2), '{"s":1}');
  assert.equal(a.pending, 2);
  assert.deepEqual(drain(a), [0, 1]);
  a.close();
  const b = open(dir);
  assert.equal(b.lastState, '{"s":1}');
  assert.equal(b.pending, 0);
  b.close();
});

test('the state survives its segment being delivered and deleted', () => {
  const dir = tempDir();
  const a = open(dir, { maxBytes: 1 << 20 }); // 64 KiB segments
  a.append(records(0, 1), '{"s":"kept"}');
  a.append(records(1, 600)); // fills the segment and rolls into new ones, no state
  drain(a);
  a.close();
  const b = open(dir);
  assert.equal(b.lastState, '{"s":"kept"}');
  b.close();
  const c = open(dir);
  assert.equal(c.lastState, '{"s":"kept"}', 'still there after another restart');
  c.close();
});

test('spool lines of the first format (no check) are still read after an upgrade', () => {
  const dir = tempDir();
  writeFileSync(join(dir, 'seg-000000000001.log'), '"m-1"\t{"n":0}\n"m-2"\t{"n":1}\n');
  const spool = open(dir);
  assert.equal(spool.pending, 2);
  assert.deepEqual(drain(spool), [0, 1]);
  spool.close();
});

// Corruption: each case is repaired on open, the loss counted and logged, and the spool works after.
function corruptionCase(name: string, damage: (dir: string) => void, expect: { kept: number[]; lost: number; log: RegExp }) {
  test(`on open: ${name}`, () => {
    const dir = tempDir();
    const a = open(dir);
    a.append(records(0, 3), '{"s":3}');
    a.close();
    damage(dir);
    const log = capture();
    const b = open(dir, { logger: log.logger });
    assert.equal(b.lostInRecovery, expect.lost);
    assert.match(log.text(), expect.log);
    assert.equal(b.pending, expect.kept.length);
    b.append(records(100, 1));
    assert.deepEqual(drain(b), [...expect.kept, 100]);
    b.close();
    // Repaired for good: a second start finds nothing to repair.
    const again = capture();
    const c = open(dir, { logger: again.logger });
    assert.equal(c.lostInRecovery, 0);
    assert.doesNotMatch(again.text(), /cut back|not on a record boundary|unreadable/);
    c.close();
  });
}

const firstSegment = (dir: string) => join(dir, segments(dir)[0]!);

corruptionCase('a half-written last record (killed mid-write) is cut off', (dir) => appendFileSync(firstSegment(dir), '7a1b2c3d\t"m-1"\t{"n":3,"pa'), {
  kept: [0, 1, 2],
  lost: 1,
  log: /torn or damaged record/,
});

corruptionCase('a damaged record (a flipped byte) and what follows it are cut', (dir) => {
  const path = firstSegment(dir);
  const bytes = readFileSync(path);
  const secondLine = bytes.indexOf(0x0a) + 1;
  bytes[secondLine + 20]! ^= 0x01;
  writeFileSync(path, bytes);
}, { kept: [0], lost: 2, log: /cut back to the last whole record/ });

corruptionCase('a power loss that zeroed the tail of a segment', (dir) => {
  const path = firstSegment(dir);
  const size = statSync(path).size;
  const bytes = readFileSync(path);
  bytes.fill(0, size - 50);
  writeFileSync(path, Buffer.concat([bytes, Buffer.alloc(4096)]));
}, { kept: [0, 1], lost: 1, log: /cut back to the last whole record/ });

corruptionCase('a cursor past the end of the spool', (dir) => {
  writeFileSync(join(dir, 'cursor.json'), JSON.stringify({ segment: 99, offset: 12 }));
}, { kept: [], lost: 0, log: /past the last segment/ });

corruptionCase('a cursor past the end of its segment', (dir) => {
  writeFileSync(join(dir, 'cursor.json'), JSON.stringify({ segment: 1, offset: 1 << 20 }));
}, { kept: [], lost: 0, log: /not on a record boundary/ });

corruptionCase('a cursor inside a record goes back to its start (a repeat at most)', (dir) => {
  const firstLine = readFileSync(firstSegment(dir)).indexOf(0x0a) + 1;
  writeFileSync(join(dir, 'cursor.json'), JSON.stringify({ segment: 1, offset: firstLine + 5 }));
}, { kept: [1, 2], lost: 0, log: /not on a record boundary/ });

corruptionCase('an unreadable cursor replays the whole spool', (dir) => {
  writeFileSync(join(dir, 'cursor.json'), '{"segm\u0000\u0000');
}, { kept: [0, 1, 2], lost: 0, log: /cursor unreadable/ });

test('on open: an empty last segment (killed between creating and writing it) is removed, the state kept', () => {
  const dir = tempDir();
  const a = open(dir);
  a.append(records(0, 1), '{"s":1}');
  drain(a);
  a.close();
  writeFileSync(join(dir, 'seg-000000000002.log'), '');
  writeFileSync(join(dir, 'cursor.json'), JSON.stringify({ segment: 2, offset: 0 }));
  const b = open(dir);
  assert.equal(b.lastState, '{"s":1}');
  assert.deepEqual(segments(dir), ['seg-000000000001.log']);
  assert.equal(b.pending, 0);
  b.close();
});

test('a damaged line in the spool costs only what follows it in its segment; later segments are kept', () => {
  const dir = tempDir();
  const a = open(dir, { maxBytes: 1 << 20 }); // 64 KiB segments: ~480 records each
  for (let i = 0; i < 100; i++) a.append(records(i * 10, 10));
  a.close();
  assert.ok(segments(dir).length >= 2);
  const path = firstSegment(dir);
  const bytes = readFileSync(path);
  bytes[Math.floor(bytes.length / 2)]! ^= 0x20;
  writeFileSync(path, bytes);
  const b = open(dir);
  const seen = drain(b);
  assert.equal(seen.length + b.lostInRecovery, 1000);
  assert.ok(b.lostInRecovery > 0 && b.lostInRecovery < 500);
  assert.equal(seen.at(-1), 999);
  b.close();
});

test('a second agent on the same spool directory is refused while the first runs', () => {
  const dir = tempDir();
  const a = open(dir);
  assert.throws(() => {
    // Another process of ours holds it: our parent, by its real start time.
    const parent = currentHolder();
    const started = readFileSync(`/proc/${process.ppid}/stat`, 'utf8');
    const ticks = started.slice(started.lastIndexOf(')') + 2).split(' ')[19];
    writeFileSync(join(dir, LOCK_FILE), JSON.stringify({ pid: process.ppid, boot: parent.boot, started: ticks }));
    open(dir);
  }, /in use by another agent \(pid \d+\)/);
  a.close();
  // Released: opens again.
  open(dir).close();
});

test('a lock left by a previous boot, or whose pid now belongs to another process, is taken over', async () => {
  const dir = tempDir();
  const me = currentHolder();
  // A live process that is not the holder: its pid, but another start time (pid reuse).
  const other = spawn('sleep', ['30'], { stdio: 'ignore' });
  try {
    writeFileSync(join(dir, LOCK_FILE), JSON.stringify({ pid: other.pid, boot: me.boot, started: '1' }));
    open(dir).close();
    // Its pid and start time, but recorded on another boot: after a reboot, pids start over.
    const stat = readFileSync(`/proc/${other.pid}/stat`, 'utf8');
    const ticks = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
    writeFileSync(join(dir, LOCK_FILE), JSON.stringify({ pid: other.pid, boot: 'another-boot', started: ticks }));
    open(dir).close();
    // The same holder on this boot is refused.
    writeFileSync(join(dir, LOCK_FILE), JSON.stringify({ pid: other.pid, boot: me.boot, started: ticks }));
    assert.throws(() => open(dir), /in use by another agent/);
    // A damaged lock names nobody: taken over.
    writeFileSync(join(dir, LOCK_FILE), '{"pid":');
    open(dir).close();
    // The bare pid file of older agents is not trusted across reboots: replaced.
    writeFileSync(join(dir, 'agent.pid'), String(other.pid));
    open(dir).close();
    assert.equal(existsSync(join(dir, 'agent.pid')), false);
  } finally {
    other.kill();
  }
});

test('encodeLine output is one line with a check', () => {
  const line = encodeLine('m', '{"a":"tab\\there"}', '{"s":1}');
  assert.equal(line.split('\n').length, 2);
  assert.match(line, /^[0-9a-f]{8}\t"m"\t/);
});
