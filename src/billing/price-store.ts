// Price versions in the ledger: reading the book, adding a version (`meter rates add`, the worker's
// --rates), and the budgets stored with a version. The rules are price-versions.ts's; this module
// only moves versions in and out of the ledger, checking them inside the ledger's transaction.
import { MeterError } from '../cli/errors.js';
import type { Ledger, StoredPriceVersion } from '../ledger/index.js';
import { parseBudgets, type Budget } from './budgets.js';
import { hourCeil } from './dates.js';
import { formatMicros } from './money.js';
import {
  PriceBook,
  PriceVersionError,
  createPriceVersion,
  firstPricedHour,
  priceVersionDocument,
  readPriceVersion,
  type PriceVersion,
  type PriceVersionDocument,
} from './price-versions.js';
import { parseRateCard, type RateCard } from './rate-card.js';

const iso = (ms: number): string => new Date(ms).toISOString();

/** A stored version read back (its digest checked), with its budgets. */
export interface LedgerPriceVersion {
  version: PriceVersion;
  budgets: Budget[];
  addedAt: number;
}

function readStored(stored: StoredPriceVersion): LedgerPriceVersion {
  let document: PriceVersionDocument;
  try {
    document = JSON.parse(stored.document) as PriceVersionDocument;
  } catch {
    throw new MeterError(`price version ${iso(stored.effectiveFrom)} in the ledger is not valid JSON; the ledger was altered`);
  }
  const version = readPriceVersion(document);
  const budgets = stored.budgets
    ? parseBudgets(JSON.parse(stored.budgets) as unknown, (path, message) => {
        throw new MeterError(`budgets of price version ${iso(stored.effectiveFrom)}: ${path}: ${message}`);
      })
    : [];
  return { version, budgets, addedAt: stored.addedAt };
}

/** The ledger's price versions, each checked against its digest. */
export async function ledgerPriceVersions(ledger: Pick<Ledger, 'priceVersions'>): Promise<LedgerPriceVersion[]> {
  return (await ledger.priceVersions()).map(readStored);
}

/**
 * The ledger's price book. A ledger with no version at all (migrated from before price versions,
 * until a worker registers one) is priced at the defaults, as a version effective since the epoch:
 * what its worker billed with unless it was given --rates.
 */
export async function ledgerPriceBook(ledger: Pick<Ledger, 'priceVersions'>): Promise<PriceBook> {
  const versions = (await ledgerPriceVersions(ledger)).map((v) => v.version);
  return versions.length > 0 ? PriceBook.of(versions) : whatIfBook(parseRateCard({}, 'defaults'));
}

/** The budgets stored with the price version in force at `now` (the first version before any), and that version. */
export async function budgetsInForce(ledger: Pick<Ledger, 'priceVersions'>, now: number): Promise<{ budgets: Budget[]; version: PriceVersion | null }> {
  const versions = await ledgerPriceVersions(ledger);
  const inForce = versions.filter((v) => v.version.effectiveFrom <= now).at(-1) ?? versions[0];
  return { budgets: inForce?.budgets ?? [], version: inForce?.version ?? null };
}

/** A book holding only `card`, effective since the epoch: a what-if (`--rates FILE` on a reader). */
export const whatIfBook = (card: RateCard): PriceBook => PriceBook.of([createPriceVersion(card, 0)]);

const budgetsDocument = (budgets: readonly Budget[] | undefined): string | null =>
  budgets?.length
    ? JSON.stringify(
        budgets.map((b) => ({
          name: b.name,
          ...('label' in b.scope ? { label: `${b.scope.label}=${b.scope.value}` } : { machine: b.scope.machine }),
          amount: formatMicros(b.amountMicros),
        })),
      )
    : null;

/**
 * Adds `card` as a version effective from `effectiveFrom`. The ledger's transaction re-reads every
 * version and the closed periods, and refuses a clash (two versions first pricing the same hour) or
 * a time inside a closed period. Returns the version, and whether it was new.
 */
export async function addLedgerPriceVersion(
  ledger: Pick<Ledger, 'addPriceVersion'>,
  card: RateCard,
  effectiveFrom: number,
  now = Date.now(),
): Promise<{ version: PriceVersion; added: boolean }> {
  const version = createPriceVersion(card, effectiveFrom);
  const added = await ledger.addPriceVersion(
    { effectiveFrom, digest: version.digest, document: JSON.stringify(priceVersionDocument(version)), budgets: budgetsDocument(card.budgets) },
    (stored, closedUntil) => {
      const book = PriceBook.of(stored.map((v) => readStored(v).version));
      book.add(card, effectiveFrom, closedUntil === null ? {} : { notBefore: closedUntil });
    },
    now,
  );
  return { version, added };
}

/**
 * `meter rates add`: a ledger with no version yet prices every hour at the defaults (ledgerPriceBook),
 * and a first version would price the hours before it too (the earliest version prices everything
 * before it), silently re-pricing what was billed. So when the ledger has usage from before it, the
 * defaults that priced those hours are stored first, as the version they already were: effective since the epoch, with the same digest, so no
 * invoice changes (or from the end of the last closed period, whose invoices are stored anyway).
 * A kill between the two leaves only the defaults stored, which prices exactly as before.
 */
export async function addRatesVersion(
  ledger: Pick<Ledger, 'addPriceVersion' | 'priceVersions' | 'closedInvoices' | 'machines'>,
  card: RateCard,
  effectiveFrom: number,
  now = Date.now(),
): Promise<{ version: PriceVersion; added: boolean; defaultsKept: PriceVersion | null }> {
  let defaultsKept: PriceVersion | null = null;
  if ((await ledger.priceVersions()).length === 0) {
    const latest = (await ledger.closedInvoices()).at(-1);
    const closedUntil = latest ? new Date(latest.periodStart).setUTCMonth(new Date(latest.periodStart).getUTCMonth() + 1) : 0;
    // Only when something was billed before the new version: else there is nothing to keep.
    const firstSeen = Math.min(...(await ledger.machines()).map((m) => m.firstSeen));
    if (firstSeen < hourCeil(effectiveFrom) && hourCeil(effectiveFrom) > hourCeil(closedUntil)) {
      defaultsKept = (await addLedgerPriceVersion(ledger, parseRateCard({}, 'defaults'), closedUntil, now)).version;
    }
  }
  return { ...(await addLedgerPriceVersion(ledger, card, effectiveFrom, now)), defaultsKept };
}

/**
 * The worker's --rates: registered as a version effective from `now` when it differs from the version
 * that would price the coming hour; without --rates, the defaults are registered only into a ledger
 * that has no version at all. A different version already set for that hour is a one-line error.
 */
export async function registerWorkerRates(
  ledger: Pick<Ledger, 'addPriceVersion' | 'priceVersions'>,
  card: RateCard,
  explicit: boolean,
  now = Date.now(),
): Promise<{ version: PriceVersion; added: boolean }> {
  const book = PriceBook.of((await ledgerPriceVersions(ledger)).map((v) => v.version));
  const next = hourCeil(now);
  const inForce = book.versionAt(next);
  if (inForce && (!explicit || inForce.card.digest === card.digest)) return { version: inForce, added: false };
  const scheduled = book.versions.find((v) => firstPricedHour(v) === next);
  if (scheduled) {
    throw new MeterError(
      `--rates ${card.source} differs from price version ${scheduled.digest.slice(0, 12)}, which takes effect at ${iso(next)}; leave out --rates to bill with the ledger's prices, or add yours later with \`meter rates add FILE --effective TIME\``,
    );
  }
  try {
    return await addLedgerPriceVersion(ledger, card, now, now);
  } catch (error) {
    if (error instanceof PriceVersionError) {
      // Workers of a group starting together with the same card: the first one added it, which is
      // what this one wanted too. Only a different card for that hour is an error.
      const racer = PriceBook.of((await ledgerPriceVersions(ledger)).map((v) => v.version)).versionAt(next);
      if (racer && racer.card.digest === card.digest) return { version: racer, added: false };
      throw new MeterError(`--rates ${card.source}: ${error.message}`);
    }
    throw error;
  }
}
