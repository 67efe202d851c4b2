import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { accountOf, loadRateCard, parseRateCard, planFor, RateCardError } from '../../../src/billing/rate-card.js';
import { UsageError } from '../../../src/cli/errors.js';
import { repoRoot } from '../../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'meter-rates-'));
const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

test('no rate card means the DESIGN.md defaults', () => {
  const card = loadRateCard();
  assert.equal(card.currency, 'USD');
  assert.deepEqual(card.cpu.tiers, [{ upTo: null, price: 31_611_000_000n }]);
  assert.deepEqual(card.memory.tiers, [{ upTo: null, price: 4_237_000_000n }]);
  assert.equal(card.source, 'defaults');
});

test('the example rate card in the repository is valid', () => {
  const card = loadRateCard(join(repoRoot, 'examples', 'rates.example.yaml'));
  assert.equal(card.plans.length, 2);
  assert.equal(card.memory.mode, 'graduated');
  assert.equal(card.memory.tiers.length, 3);
  assert.equal(card.plans[0]!.cpu.mode, 'volume');
});

test('JSON and YAML with the same prices give the same card and digest', () => {
  const json = loadRateCard(
    file('a.json', JSON.stringify({ currency: 'eur', cpu: { price: '0.05' }, memory: 0.001, plans: [{ name: 'p', match: { labels: { env: 'prod' } }, cpu: 0.04 }] })),
  );
  const yaml = loadRateCard(
    file('a.yaml', 'currency: EUR\ncpu: 0.05\nmemory:\n  price: "0.001"\nplans:\n  - name: p\n    match: { labels: { env: prod } }\n    cpu: { price: 0.04 }\n'),
  );
  assert.equal(json.currency, 'EUR');
  assert.equal(json.digest, yaml.digest);
  assert.notEqual(json.digest, loadRateCard().digest);
});

test('plans are chosen by label and by machine name, first match wins', () => {
  const card = parseRateCard({
    plans: [
      { name: 'search-prod', match: { labels: { team: 'search', env: 'prod' } }, cpu: 0.02 },
      { name: 'ci', match: { machines: ['ci-*', 'build-??'] }, memory: 0.001 },
      { name: 'web-prod', match: { machines: 'web-*', labels: { env: 'prod' } }, cpu: 0.03 },
    ],
  });
  assert.equal(planFor(card, 'x', { team: 'search', env: 'prod', extra: '1' })?.name, 'search-prod');
  assert.equal(planFor(card, 'x', { team: 'search', env: 'dev' }), undefined);
  assert.equal(planFor(card, 'ci-17', {})?.name, 'ci');
  assert.equal(planFor(card, 'build-01', {})?.name, 'ci');
  assert.equal(planFor(card, 'build-001', {}), undefined);
  assert.equal(planFor(card, 'ci-1', { team: 'search', env: 'prod' })?.name, 'search-prod');
  assert.equal(planFor(card, 'web-1', { env: 'prod' })?.name, 'web-prod');
  assert.equal(planFor(card, 'web-1', { env: 'dev' }), undefined);
  assert.equal(planFor(card, 'xweb-1', { env: 'prod' }), undefined, 'patterns match the whole name');
  // A plan that sets only one resource inherits the other from the card.
  assert.deepEqual(planFor(card, 'ci-1', {})!.cpu, card.cpu);
});

const rejects = (document: unknown, pattern: RegExp) => {
  assert.throws(() => parseRateCard(document, 'r.yaml'), (error: unknown) => {
    assert.ok(error instanceof RateCardError);
    assert.ok(error instanceof UsageError, 'exit code 2');
    assert.match(error.message, pattern);
    assert.ok(!error.message.includes('\n'), 'one line');
    return true;
  });
};

test('bad rate cards are rejected with the field named', () => {
  rejects({ currency: 'dollars' }, /^rate card r\.yaml: currency: "dollars" is not a currency code/);
  rejects({ cpu: -1 }, /cpu: a price cannot be negative/);
  rejects({ cpu: 'cheap' }, /cpu: "cheap" is not a price/);
  rejects({ cpu: { price: 0.1, tiers: [] } }, /cpu: give either "price" or "tiers"/);
  rejects({ memory: { pric: 0.1 } }, /memory\.pric: unknown field/);
  rejects({ cpu: { tiers: [{ upTo: 10, price: 1 }] } }, /cpu\.tiers\[0\]\.upTo: the last tier must have no upTo/);
  rejects({ cpu: { tiers: [{ price: 1 }, { price: 2 }] } }, /cpu\.tiers\[0\]\.upTo: is missing/);
  rejects(
    { cpu: { tiers: [{ upTo: 10, price: 1 }, { upTo: 10, price: 1 }, { price: 1 }] } },
    /cpu\.tiers\[1\]\.upTo: must be greater than the previous tier's upTo \(10\)/,
  );
  rejects({ cpu: { mode: 'stepped', tiers: [{ price: 1 }] } }, /cpu\.mode: "stepped" is not a tier mode/);
  rejects({ memory: { tiers: [{ upTo: 0, price: 1 }, { price: 1 }] } }, /memory\.tiers\[0\]\.upTo: 0 is not a positive number/);
  rejects({ memory: { tiers: [{ upTo: 1 }, { price: 1 }] } }, /memory\.tiers\[0\]\.price: is missing/);
  rejects({ plans: {} }, /plans: must be a list/);
  rejects({ plans: [{ name: 'a', cpu: 1 }] }, /plans\[0\]\.match: is missing/);
  rejects({ plans: [{ name: 'a', match: {}, cpu: 1 }] }, /plans\[0\]\.match: matches every machine/);
  rejects({ plans: [{ name: 'a', match: { labels: { a: 'b' } } }] }, /plans\[0\]: sets no prices/);
  rejects(
    { plans: [{ name: 'a', match: { labels: { a: 'b' } }, cpu: 1 }, { name: 'a', match: { machines: ['x'] }, cpu: 1 }] },
    /plans\[1\]\.name: "a" is used by an earlier plan/,
  );
  rejects({ plans: [{ name: 'a', match: { labels: { a: ['b'] } }, cpu: 1 }] }, /plans\[0\]\.match\.labels\.a: must be a string/);
  rejects({ plans: [{ name: 'a', match: { machines: [''] }, cpu: 1 }] }, /plans\[0\]\.match\.machines: must be a list/);
  rejects({ plans: [{ name: 'a', match: { machines: ['x'] }, cpu: { tiers: [{ upTo: 1, price: 'x' }, { price: 1 }] } }] }, /plans\[0\]\.cpu\.tiers\[0\]\.price/);
  rejects({ extra: 1 }, /^rate card r\.yaml: extra: unknown field/);
  rejects([1, 2], /must be an object/);
});

test('unreadable and malformed files get one-line errors', () => {
  assert.throws(() => loadRateCard(join(dir, 'missing.yaml')), /rate card .*missing\.yaml not found; give the path of a JSON or YAML rate card/);
  assert.throws(() => loadRateCard(dir), /is a directory/);
  assert.throws(() => loadRateCard(file('bad.yaml', 'cpu: [1,\n')), (error: unknown) => {
    assert.ok(error instanceof RateCardError);
    assert.match(error.message, /is not valid JSON or YAML/);
    assert.ok(!error.message.includes('\n'));
    return true;
  });
  // An empty file is an empty card: the defaults.
  assert.equal(loadRateCard(file('empty.yaml', '')).digest, loadRateCard().digest);
});

test('a card names its billing account: the fleet by default, or each value of a label', () => {
  const fleet = parseRateCard({});
  assert.equal(fleet.account, 'fleet');
  assert.equal(accountOf(fleet, { team: 'search' }), 'fleet');
  assert.equal(parseRateCard({ account: 'fleet' }).digest, fleet.digest, 'fleet is the default, not a new price');
  const team = parseRateCard({ account: 'team' });
  assert.deepEqual(team.account, { label: 'team' });
  assert.deepEqual(parseRateCard({ account: 'label:team' }).account, { label: 'team' });
  assert.equal(parseRateCard({ account: 'label:team' }).digest, team.digest);
  assert.notEqual(team.digest, fleet.digest, 'the account changes what the tiers see, so it is part of the prices');
  assert.equal(accountOf(team, { team: 'search', env: 'prod' }), 'team=search');
  assert.equal(accountOf(team, { env: 'prod' }), 'team=(none)');
  rejects({ account: 'team search' }, /^rate card r\.yaml: account: "team search" is not a billing account; give fleet \(the default\) or a label name such as team$/);
  rejects({ account: 7 }, /^rate card r\.yaml: account: 7 is not a billing account/);
  rejects({ account: 'label:' }, /account: "label:" is not a billing account/);
  rejects({ account: 'team=search' }, /account: "team=search" is not a billing account/);
});

test('cards from before account: keep their digests', () => {
  // Digests are stored in ledgers (rate_cards); a card without account must hash as it always did.
  assert.equal(parseRateCard({}).digest, '51e614eb91b8244a84ab7b62f4e8b24ffc5c5b1e527c443771fdf5e3e9398c95');
});
