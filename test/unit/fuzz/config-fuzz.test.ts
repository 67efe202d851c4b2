// Hostile files, generated (fast-check): rate cards, and --config files for every command. Each bad
// file is one line naming the field that is wrong (a usage error, exit 2), never a crash; a good one
// is accepted.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { stringify as toYaml } from 'yaml';
import { loadRateCard, parseRateCard } from '../../../src/billing/index.js';
import { UsageError } from '../../../src/cli/errors.js';
import { main } from '../../../src/cli/main.js';

const dir = mkdtempSync(join(tmpdir(), 'meter-config-fuzz-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Values a careless or hostile file puts where a field should be. */
const junk = fc.oneof(
  fc.constantFrom(null, true, false, '', ' ', '0', '-1', 'abc', -1, 0, -0.5, 1e308, 2 ** 63, [], {}, [1], ['a'], { a: 1 }, '1e3', '0x10', '__proto__'),
  fc.integer(),
  fc.double({ noNaN: true }),
  fc.string({ maxLength: 16 }),
  fc.jsonValue({ maxDepth: 2 }),
);

// Rate cards ------------------------------------------------------------------------------------

const price = fc.oneof(fc.integer({ min: 0, max: 10 }), fc.constantFrom('0.031611', '0.004237', '1', '0.000000000001'));
const priceSpec = fc.oneof(
  price,
  price.map((p) => ({ price: p })),
  fc
    .tuple(fc.constantFrom('graduated', 'volume'), fc.uniqueArray(fc.integer({ min: 1, max: 10_000 }), { minLength: 1, maxLength: 3 }), price)
    .map(([mode, bounds, last]) => ({
      mode,
      tiers: [...[...bounds].sort((a, b) => a - b).map((upTo) => ({ upTo, price: '0.01' })), { price: last }],
    })),
);
const validCard = fc.record(
  {
    currency: fc.constantFrom('USD', 'EUR', 'chf'),
    cpu: priceSpec,
    memory: priceSpec,
    plans: fc.uniqueArray(
      fc.record({ name: fc.constantFrom('gpu', 'batch', 'prod'), match: fc.constantFrom({ labels: { team: 'ml' } }, { machines: ['gpu-*'] }), cpu: priceSpec }),
      { selector: (p) => p.name, maxLength: 2 },
    ),
    budgets: fc.uniqueArray(fc.record({ label: fc.constantFrom('team=ml', 'env=prod'), amount: fc.constantFrom('100', '0.5', 1000) }), { selector: (b) => b.label, maxLength: 2 }),
  },
  { requiredKeys: [] },
);

/** Every path in a document: its fields, list items and fields of fields. */
function paths(value: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  if (typeof value !== 'object' || value === null) return [];
  const entries: [string | number, unknown][] = Array.isArray(value) ? value.map((v, i) => [i, v]) : Object.entries(value);
  return entries.flatMap(([k, v]) => [[...prefix, k], ...paths(v, [...prefix, k])]);
}

function mutate(doc: Record<string, unknown>, path: (string | number)[], value: unknown, remove: boolean): void {
  let node = doc as Record<string | number, unknown>;
  for (const part of path.slice(0, -1)) node = node[part] as Record<string | number, unknown>;
  const last = path.at(-1)!;
  if (remove) delete node[last];
  else node[last] = value;
}

/** How the checker writes a path: plans[0].cpu.tiers[1].price */
const pathText = (path: (string | number)[]) => path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');

test('rate cards: every generated card is accepted or refused with one line naming a field on its path', () => {
  let refused = 0;
  let accepted = 0;
  fc.assert(
    fc.property(validCard, fc.nat(), junk, fc.boolean(), fc.boolean(), (card, pick, value, remove, unknownKey) => {
      const doc = JSON.parse(JSON.stringify(card)) as Record<string, unknown>;
      assert.doesNotThrow(() => parseRateCard(doc, 'fuzz.yaml'), 'a valid card is accepted');
      const all = paths(doc);
      let path: (string | number)[] = [];
      if (unknownKey || all.length === 0) {
        const objects = [[], ...all].filter((p) => {
          let node: unknown = doc;
          for (const part of p) node = (node as Record<string | number, unknown>)[part];
          return typeof node === 'object' && node !== null && !Array.isArray(node);
        });
        path = [...objects[pick % objects.length]!, 'surplus'];
        mutate(doc, path, value, false);
      } else {
        path = all[pick % all.length]!;
        mutate(doc, path, value, remove);
      }
      try {
        parseRateCard(doc, 'fuzz.yaml');
        accepted++;
      } catch (error) {
        refused++;
        assert.ok(error instanceof UsageError, `not a usage error: ${String(error)}`);
        const message = (error as Error).message;
        assert.ok(!message.includes('\n'), `more than one line: ${message}`);
        assert.match(message, /^rate card fuzz\.yaml: /);
        // The field named is on the mutated path, or contains it (a parent whose shape is now wrong).
        const named = /^rate card fuzz\.yaml: ([^:]+): /.exec(message)?.[1];
        if (named !== undefined) {
          const text = pathText(path);
          assert.ok(text.startsWith(named) || named.startsWith(text) || named.split(/[.[]/)[0] === String(path[0]), `"${named}" is not on ${text}: ${message}`);
        }
      }
    }),
    { numRuns: 5000 },
  );
  assert.ok(refused > 1000 && accepted > 100, `refused ${refused}, accepted ${accepted}`);
});

test('rate card files: broken JSON or YAML, and any text at all, are one line naming the file, and print nothing else', () => {
  const warnings: string[] = [];
  const onWarning = (w: Error) => warnings.push(w.message);
  process.on('warning', onWarning);
  fc.assert(
    fc.property(fc.oneof(fc.string(), fc.jsonValue().map((j) => toYaml(j)), fc.constantFrom('cpu: [', '{"cpu": ', 'cpu: !!binary x', '\t- a: b', 'a: &x\n  b: *y')), (text) => {
      const file = join(dir, 'card.yaml');
      writeFileSync(file, text);
      try {
        loadRateCard(file);
      } catch (error) {
        assert.ok(error instanceof UsageError, `not a usage error: ${String(error)}`);
        assert.ok(!(error as Error).message.includes('\n'), (error as Error).message);
        assert.match((error as Error).message, new RegExp(`^rate card ${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}`));
      }
    }),
    { numRuns: 1000 },
  );
  process.off('warning', onWarning);
  assert.deepEqual(warnings, []);
});

// --config files -----------------------------------------------------------------------------------

const KAFKA = ['brokers', 'topic', 'tls', 'tls-ca', 'tls-cert', 'tls-key', 'sasl-mechanism', 'sasl-username', 'sasl-password-file', 'allow-plaintext-sasl'];
const missingLedger = join(dir, 'no-such-ledger.db');
/** Each command with flags that end it at its first step when the file is good (no broker, no ledger). */
const COMMANDS: { argv: string[]; keys: string[] }[] = [
  { argv: ['agent', '--brokers', ','], keys: [...KAFKA, 'interval', 'machine', 'label', 'spool', 'spool-max-mb', 'simulate', 'partitions'] },
  { argv: ['worker', '--brokers', ','], keys: [...KAFKA, 'group', 'ledger', 'rates', 'late-limit', 'partitions', 'session-timeout', 'fetch-max-kb'] },
  { argv: ['console', '--brokers', ','], keys: [...KAFKA, 'group', 'ledger', 'rates', 'interval', 'refresh', 'by', 'once', 'json'] },
  { argv: ['up', '--brokers', ','], keys: [...KAFKA, 'group', 'fleet', 'interval', 'machine', 'ledger', 'rates', 'headless'] },
  { argv: ['invoice', '--ledger', missingLedger], keys: ['ledger', 'period', 'from', 'to', 'by', 'format', 'rates', 'now'] },
  { argv: ['budgets', '--ledger', missingLedger], keys: ['ledger', 'rates', 'period', 'format', 'notify', 'now'] },
];
const plausible = fc.constantFrom('table', 'json', 'csv', 'machine', 'label:team', '2026-11', '2026-11-01', 'team=ml', 'scram-sha-512', 'plain', '7d', 1, 5, 30, true, false);

/** Runs the real CLI entry in this process and collects what it writes to stderr. */
async function runMain(argv: string[]): Promise<{ code: number; stderr: string }> {
  const write = process.stderr.write.bind(process.stderr);
  const error = console.error;
  let stderr = '';
  process.stderr.write = ((chunk: string | Uint8Array) => ((stderr += String(chunk)), true)) as typeof process.stderr.write;
  console.error = (...args: unknown[]) => (stderr += `${args.join(' ')}\n`);
  process.exitCode = undefined;
  try {
    await main(argv);
  } finally {
    process.stderr.write = write;
    console.error = error;
  }
  const code = Number(process.exitCode ?? 0);
  process.exitCode = undefined;
  return { code, stderr };
}

test('--config files for every command: a bad value is one line naming its field, never a crash', { timeout: 300_000 }, async () => {
  let byConfigCheck = 0;
  let total = 0;
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 0, max: COMMANDS.length - 1 }),
      fc.array(fc.tuple(fc.nat(), fc.oneof(junk, plausible)), { minLength: 1, maxLength: 4 }),
      fc.boolean(),
      fc.boolean(),
      async (which, entries, yaml, unknown) => {
        const command = COMMANDS[which]!;
        const values: Record<string, unknown> = {};
        for (const [pick, value] of entries) values[command.keys[pick % command.keys.length]!] = value;
        if (unknown) values.surplus = 1;
        const file = join(dir, yaml ? 'config.yaml' : 'config.json');
        writeFileSync(file, yaml ? toYaml(values) : JSON.stringify(values));
        const { code, stderr } = await runMain([...command.argv, '--config', file]);
        total++;
        const lines = stderr.split('\n').filter(Boolean);
        assert.equal(lines.length, 1, `${command.argv[0]} ${JSON.stringify(values)}:\n${stderr}`);
        const line = lines[0]!;
        assert.doesNotMatch(line, /unexpected error/, `${command.argv[0]} ${JSON.stringify(values)}: ${line}`);
        assert.ok(code === 1 || code === 2, `exit ${code}: ${line}`);
        const keys = Object.keys(values);
        if (line.startsWith('meter: --config:')) {
          byConfigCheck++;
          assert.ok(keys.some((k) => line.includes(`"${k}"`)), `names none of ${keys.join(', ')}: ${line}`);
        }
        const unknownArg = /Unknown arguments?: (.*?) \(see meter --help\)$/.exec(line);
        if (unknownArg) assert.ok(unknownArg[1]!.split(', ').every((k) => keys.includes(k)), line);
      },
    ),
    { numRuns: 1500 },
  );
  assert.ok(byConfigCheck > 100, `only ${byConfigCheck} of ${total} refused by the config check`);
});

test('an object in the config file is refused even when the command line gives the same flag (found by the property above)', async () => {
  const file = join(dir, 'object.json');
  writeFileSync(file, JSON.stringify({ ledger: { '': null } }));
  const { code, stderr } = await runMain(['invoice', '--ledger', missingLedger, '--config', file]);
  assert.equal(code, 2);
  assert.equal(stderr.trim(), `meter: --config: ${file}: "ledger" must be a single value, not {"":null}`);
});
