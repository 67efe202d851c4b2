// Rate cards: what a core-hour and a GiB-hour cost, with optional tiers and per-machine plans.
// The format is documented, with an example, in examples/rates.example.yaml. Every price is parsed
// exactly (no floats), and every mistake is reported with the path of the field that is wrong.
import { parseBudgets, type Budget } from './budgets.js';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { UsageError, errorMessage } from '../cli/errors.js';
import { PRICE_DECIMALS, QUANTITY_DECIMALS, formatPrice, formatScaled, parseDecimal } from './money.js';

/** OpenCost's public defaults (DESIGN.md), per core-hour and per GiB-hour. */
export const DEFAULT_CURRENCY = 'USD';
export const DEFAULT_CPU_PRICE = '0.031611';
export const DEFAULT_MEMORY_PRICE = '0.004237';

/** graduated: each tier's price applies to the usage inside that tier. volume: the tier the period's
 * total usage falls in prices all of it. */
export type TierMode = 'graduated' | 'volume';

export interface Tier {
  /** Upper bound of the tier in hours (core-hours or GiB-hours) scaled by 10^6, inclusive; null: no bound. */
  upTo: bigint | null;
  /** Price per hour (core-hour or GiB-hour) scaled by 10^12. */
  price: bigint;
}

export interface PriceSpec {
  mode: TierMode;
  /** Ascending by upTo; the last tier has no bound. A flat price is a single unbounded tier. */
  tiers: Tier[];
}

export interface Plan {
  name: string;
  /** Machine-name patterns (`*` and `?` wildcards); empty means any machine. */
  machines: string[];
  /** Labels a machine must all carry; empty means any labels. */
  labels: Record<string, string>;
  cpu: PriceSpec;
  memory: PriceSpec;
}

/** Whose usage a card's tiers are counted on: the whole fleet, or each value of a label on its own. */
export type BillingAccount = 'fleet' | { label: string };

export interface RateCard {
  currency: string;
  /** The billing account: tiers apply to each account's usage over the billing period. Default fleet. */
  account: BillingAccount;
  cpu: PriceSpec;
  memory: PriceSpec;
  /** Tried in order; the first plan that matches a machine prices it, else the card's own prices. */
  plans: Plan[];
  /** Spending limits per billing period (src/billing/budgets.ts); they do not change prices. */
  budgets?: Budget[];
  /** The file it came from, or "defaults". */
  source: string;
  /** sha256 of the normalized card: the same prices give the same digest whatever the file layout. */
  digest: string;
}

/** A rate card that cannot be used; the message names the file and the field. */
export class RateCardError extends UsageError {}

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

class Checker {
  constructor(private readonly source: string) {}

  fail(path: string, message: string): never {
    throw new RateCardError(`rate card ${this.source}: ${path ? `${path}: ` : ''}${message}`);
  }

  keys(value: Json, path: string, allowed: string[]): void {
    for (const key of Object.keys(value)) {
      if (!allowed.includes(key)) {
        this.fail(path ? `${path}.${key}` : key, `unknown field; expected one of ${allowed.join(', ')}`);
      }
    }
  }

  price(value: unknown, path: string): bigint {
    const price = parseDecimal(value, PRICE_DECIMALS);
    if (price === undefined) {
      this.fail(path, `${JSON.stringify(value)} is not a price; give a plain decimal such as 0.031611 (up to ${PRICE_DECIMALS} decimal places)`);
    }
    if (price < 0n) this.fail(path, 'a price cannot be negative');
    return price;
  }

  quantity(value: unknown, path: string): bigint {
    const quantity = parseDecimal(value, QUANTITY_DECIMALS);
    if (quantity === undefined || quantity <= 0n) {
      this.fail(path, `${JSON.stringify(value)} is not a positive number of hours (up to ${QUANTITY_DECIMALS} decimal places)`);
    }
    return quantity;
  }

  /** `0.031611`, `{price: 0.031611}` or `{mode, tiers: [{upTo, price}, ..., {price}]}`. */
  priceSpec(value: unknown, path: string, unit: string): PriceSpec {
    if (typeof value === 'number' || typeof value === 'string') {
      return { mode: 'graduated', tiers: [{ upTo: null, price: this.price(value, path) }] };
    }
    if (!isObject(value)) this.fail(path, `must be a price per ${unit} or an object with "price" or "tiers"`);
    this.keys(value, path, ['price', 'mode', 'tiers']);
    if (value.price !== undefined) {
      if (value.tiers !== undefined) this.fail(path, 'give either "price" or "tiers", not both');
      if (value.mode !== undefined) this.fail(`${path}.mode`, 'only applies with "tiers"');
      return { mode: 'graduated', tiers: [{ upTo: null, price: this.price(value.price, `${path}.price`) }] };
    }
    if (value.tiers === undefined) this.fail(path, 'needs "price" or "tiers"');
    const mode = value.mode ?? 'graduated';
    if (mode !== 'graduated' && mode !== 'volume') {
      this.fail(`${path}.mode`, `${JSON.stringify(mode)} is not a tier mode; use graduated or volume`);
    }
    if (!Array.isArray(value.tiers) || value.tiers.length === 0) {
      this.fail(`${path}.tiers`, 'must be a non-empty list of {upTo, price}');
    }
    const list: unknown[] = value.tiers;
    const tiers: Tier[] = [];
    list.forEach((raw: unknown, i: number) => {
      const tierPath = `${path}.tiers[${i}]`;
      if (!isObject(raw)) this.fail(tierPath, 'must be an object {upTo, price}');
      this.keys(raw, tierPath, ['upTo', 'price']);
      if (raw.price === undefined) this.fail(`${tierPath}.price`, 'is missing');
      const last = i === list.length - 1;
      let upTo: bigint | null = null;
      if (raw.upTo === undefined || raw.upTo === null) {
        if (!last) this.fail(`${tierPath}.upTo`, `is missing; only the last tier may leave it out (no upper bound)`);
      } else {
        if (last) this.fail(`${tierPath}.upTo`, 'the last tier must have no upTo, so all usage has a price');
        upTo = this.quantity(raw.upTo, `${tierPath}.upTo`);
        const previous = tiers[i - 1]?.upTo;
        if (previous != null && upTo <= previous) {
          this.fail(`${tierPath}.upTo`, `must be greater than the previous tier's upTo (${formatScaled(previous, QUANTITY_DECIMALS).replace(/\.?0+$/, '')})`);
        }
      }
      tiers.push({ upTo, price: this.price(raw.price, `${tierPath}.price`) });
    });
    return { mode, tiers };
  }
}

function defaultSpec(price: string): PriceSpec {
  return { mode: 'graduated', tiers: [{ upTo: null, price: parseDecimal(price, PRICE_DECIMALS)! }] };
}

/** `account: fleet` (the default), `account: team`, or the explicit `account: label:team`. */
function parseAccount(value: unknown, check: Checker): BillingAccount {
  if (value === undefined || value === null) return 'fleet';
  const text = typeof value === 'string' ? value.trim() : '';
  const label = text.startsWith('label:') ? text.slice('label:'.length).trim() : text;
  if (text === 'fleet') return 'fleet';
  if (!label || /[\s=]/.test(label)) {
    check.fail('account', `${JSON.stringify(value)} is not a billing account; give fleet (the default) or a label name such as team`);
  }
  return { label };
}

function digestOf(card: Omit<RateCard, 'source' | 'digest'>): string {
  const spec = (s: PriceSpec) => ({
    mode: s.mode,
    tiers: s.tiers.map((t) => ({ upTo: t.upTo === null ? null : t.upTo.toString(), price: t.price.toString() })),
  });
  const canonical = JSON.stringify({
    // Only a label account is hashed, so cards from before `account:` keep the digests they had.
    ...(card.account === 'fleet' ? {} : { account: `label:${card.account.label}` }),
    currency: card.currency,
    cpu: spec(card.cpu),
    memory: spec(card.memory),
    plans: card.plans.map((p) => ({
      name: p.name,
      machines: p.machines,
      labels: Object.entries(p.labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
      cpu: spec(p.cpu),
      memory: spec(p.memory),
    })),
  });
  return createHash('sha256').update(canonical).digest('hex');
}

/** Validates a parsed rate card document (from JSON or YAML). `source` names it in errors. */
export function parseRateCard(document: unknown, source = 'rate card'): RateCard {
  const check: Checker = new Checker(source);
  if (document === null || document === undefined) document = {};
  if (!isObject(document)) check.fail('', 'must be an object with currency, cpu, memory and plans');
  check.keys(document, '', ['currency', 'account', 'cpu', 'memory', 'plans', 'budgets']);
  const account = parseAccount(document.account, check);
  const currency = document.currency ?? DEFAULT_CURRENCY;
  if (typeof currency !== 'string' || !/^[A-Za-z]{3}$/.test(currency)) {
    check.fail('currency', `${JSON.stringify(currency)} is not a currency code; give three letters such as USD or EUR`);
  }
  const cpu = document.cpu === undefined ? defaultSpec(DEFAULT_CPU_PRICE) : check.priceSpec(document.cpu, 'cpu', 'core-hour');
  const memory =
    document.memory === undefined ? defaultSpec(DEFAULT_MEMORY_PRICE) : check.priceSpec(document.memory, 'memory', 'GiB-hour');
  const plans: Plan[] = [];
  if (document.plans !== undefined) {
    if (!Array.isArray(document.plans)) check.fail('plans', 'must be a list of plans');
    const names = new Set<string>();
    document.plans.forEach((raw: unknown, i: number) => {
      const path = `plans[${i}]`;
      if (!isObject(raw)) check.fail(path, 'must be an object with name, match, and cpu and/or memory');
      check.keys(raw, path, ['name', 'match', 'cpu', 'memory']);
      if (typeof raw.name !== 'string' || raw.name.trim() === '') check.fail(`${path}.name`, 'must be a non-empty string');
      if (names.has(raw.name)) check.fail(`${path}.name`, `"${raw.name}" is used by an earlier plan; plan names must be unique`);
      names.add(raw.name);
      if (!isObject(raw.match)) check.fail(`${path}.match`, 'is missing; give labels: {KEY: VALUE} and/or machines: [NAME, ...]');
      check.keys(raw.match, `${path}.match`, ['labels', 'machines']);
      const labels: Record<string, string> = {};
      if (raw.match.labels !== undefined) {
        if (!isObject(raw.match.labels)) check.fail(`${path}.match.labels`, 'must be a map of label names to values');
        for (const [k, v] of Object.entries(raw.match.labels)) {
          if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') {
            check.fail(`${path}.match.labels.${k}`, 'must be a string value');
          }
          labels[k] = String(v);
        }
      }
      let machines: string[] = [];
      if (raw.match.machines !== undefined) {
        const list = typeof raw.match.machines === 'string' ? [raw.match.machines] : raw.match.machines;
        if (!Array.isArray(list) || list.some((m) => typeof m !== 'string' || m === '')) {
          check.fail(`${path}.match.machines`, 'must be a list of machine names (wildcards * and ? allowed)');
        }
        machines = list as string[];
      }
      if (machines.length === 0 && Object.keys(labels).length === 0) {
        check.fail(`${path}.match`, 'matches every machine; give labels and/or machines');
      }
      if (raw.cpu === undefined && raw.memory === undefined) check.fail(path, 'sets no prices; give cpu and/or memory');
      plans.push({
        name: raw.name,
        machines,
        labels,
        cpu: raw.cpu === undefined ? cpu : check.priceSpec(raw.cpu, `${path}.cpu`, 'core-hour'),
        memory: raw.memory === undefined ? memory : check.priceSpec(raw.memory, `${path}.memory`, 'GiB-hour'),
      });
    });
  }
  const budgets = parseBudgets(document.budgets, (path, message) => check.fail(path, message));
  const card = { currency: currency.toUpperCase(), account, cpu, memory, plans };
  // Budgets do not price anything, so they are not part of the digest that charges are recorded with.
  return { ...card, budgets, source, digest: digestOf(card) };
}

/** The rate card in `path` (JSON or YAML, by content), or the defaults when no path is given. */
export function loadRateCard(path?: string): RateCard {
  if (path === undefined || path === '') return parseRateCard({}, 'defaults');
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'not found' : code === 'EISDIR' ? 'is a directory' : 'cannot be read';
    throw new RateCardError(`rate card ${path} ${why}; give the path of a JSON or YAML rate card (see examples/rates.example.yaml)`);
  }
  let document: unknown;
  try {
    // YAML is a superset of JSON, so one parser reads both.
    // Warnings (an unknown tag) would be printed by Node as a multi-line notice: one line or nothing.
    document = parseYaml(text, { logLevel: 'error' });
  } catch (error) {
    throw new RateCardError(`rate card ${path} is not valid JSON or YAML: ${errorMessage(error).split('\n')[0]}`);
  }
  return parseRateCard(document, path);
}

function globToRegExp(pattern: string): RegExp {
  const body = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${body}$`);
}

const patternCache = new Map<string, RegExp>();

function matchesMachine(patterns: string[], machine: string): boolean {
  if (patterns.length === 0) return true;
  return patterns.some((p) => {
    let re = patternCache.get(p);
    if (!re) patternCache.set(p, (re = globToRegExp(p)));
    return re.test(machine);
  });
}

/** The plan that prices this machine with these labels, or undefined for the card's own prices. */
export function planFor(card: RateCard, machine: string, labels: Record<string, string>): Plan | undefined {
  return card.plans.find(
    (plan) => matchesMachine(plan.machines, machine) && Object.entries(plan.labels).every(([k, v]) => labels[k] === v),
  );
}

/** The account a machine with these labels is billed in: "fleet", or "team=search" ("team=(none)" without the label). */
export function accountOf(card: Pick<RateCard, 'account'>, labels: Readonly<Record<string, string>>): string {
  if (card.account === 'fleet') return 'fleet';
  return `${card.account.label}=${labels[card.account.label] ?? '(none)'}`;
}

/** A one-line description of a card, for logs. */
export function describeRateCard(card: RateCard): string {
  const flat = (s: PriceSpec) => (s.tiers.length === 1 ? formatPrice(s.tiers[0]!.price) : `${s.tiers.length} ${s.mode} tiers`);
  const account = card.account === 'fleet' ? '' : `, account per ${card.account.label}`;
  return `${card.currency} cpu ${flat(card.cpu)}/core-h, memory ${flat(card.memory)}/GiB-h, ${card.plans.length} plan(s)${account} (${card.source})`;
}
