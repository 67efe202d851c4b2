// Price versions: rate cards as immutable, effective-dated versions, and the book of them that says
// which version prices each hour.
//
// Rules (documented for finance in README and examples/pooled-tiers.md):
// - A version is a validated rate card plus the instant it takes effect, named by a digest of both.
//   It is never edited; a correction is a new version with a later effective time.
// - Usage is priced by the hour: an hour is priced with the version in force at the hour's start.
//   A version effective at 14:30 therefore first prices the hour 15:00-16:00 (its "first priced
//   hour"), and two versions may not share a first priced hour (the earlier would price nothing).
// - Hours before the first version are priced with the first version: it is the card billing began
//   with. (The ledger registers one at creation, so this only matters for usage older than that.)
import { createHash } from 'node:crypto';
import { UsageError } from '../cli/errors.js';
import { hourCeil, hourStart } from './dates.js';
import { rateCardDocument, type RateCardDocument } from './rate-card-document.js';
import { parseRateCard, type RateCard } from './rate-card.js';

export interface PriceVersion {
  /** When the version takes effect, epoch ms (it first prices the hour starting at or after it). */
  readonly effectiveFrom: number;
  /** The validated card; frozen. */
  readonly card: RateCard;
  /** sha256 of the effective time and the card's price digest: the version's name in invoices. */
  readonly digest: string;
}

/** How an invoice line names the versions that priced it. */
export interface PriceVersionRef {
  /** ISO 8601, UTC */
  effectiveFrom: string;
  digest: string;
}

/** What a version is stored as (ledger, closed invoices): plain JSON, exact decimal strings. */
export interface PriceVersionDocument {
  effectiveFrom: string;
  digest: string;
  card: RateCardDocument;
}

/** A version that cannot be added or read; a usage error (exit 2) with one line saying what to do. */
export class PriceVersionError extends UsageError {}

const iso = (ms: number): string => new Date(ms).toISOString();

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

function versionDigest(effectiveFrom: number, cardDigest: string): string {
  return createHash('sha256').update(`meter price version\n${iso(effectiveFrom)}\n${cardDigest}`).digest('hex');
}

/** A version of `card` effective from `effectiveFrom`; the card is copied and frozen. */
export function createPriceVersion(card: RateCard, effectiveFrom: number): PriceVersion {
  if (!Number.isSafeInteger(effectiveFrom) || Number.isNaN(new Date(effectiveFrom).getTime())) {
    throw new RangeError(`a price version's effective time must be an epoch millisecond, not ${effectiveFrom}`);
  }
  const frozen = deepFreeze(structuredClone(card));
  return Object.freeze({ effectiveFrom, card: frozen, digest: versionDigest(effectiveFrom, card.digest) });
}

/** The hour a version first prices: the first hour starting at or after its effective time. */
export const firstPricedHour = (version: Pick<PriceVersion, 'effectiveFrom'>): number => hourCeil(version.effectiveFrom);

export const versionRef = (version: PriceVersion): PriceVersionRef => ({
  effectiveFrom: iso(version.effectiveFrom),
  digest: version.digest,
});

export function priceVersionDocument(version: PriceVersion): PriceVersionDocument {
  return { effectiveFrom: iso(version.effectiveFrom), digest: version.digest, card: rateCardDocument(version.card) };
}

/** Reads a stored version back, and checks that it still has the digest it was stored with. */
export function readPriceVersion(document: PriceVersionDocument): PriceVersion {
  const effectiveFrom = Date.parse(document.effectiveFrom);
  const source = `price version ${document.effectiveFrom}`;
  if (!Number.isFinite(effectiveFrom) || iso(effectiveFrom) !== document.effectiveFrom) {
    throw new PriceVersionError(`${source}: effectiveFrom is not an ISO UTC instant such as 2026-11-01T00:00:00.000Z`);
  }
  const version = createPriceVersion(parseRateCard(document.card, source), effectiveFrom);
  if (version.digest !== document.digest) {
    throw new PriceVersionError(
      `${source}: stored digest ${document.digest.slice(0, 12)} does not match its prices (${version.digest.slice(0, 12)}); the stored version was altered`,
    );
  }
  return version;
}

export interface AddVersionOptions {
  /** Versions may not take effect before this instant (e.g. the end of the last closed period). */
  notBefore?: number;
}

/** The versions of a ledger, by effective time; immutable (adding gives a new book). */
export class PriceBook {
  private constructor(readonly versions: readonly PriceVersion[]) {}

  static readonly empty = new PriceBook([]);

  /** A book of stored versions, checked as addVersion() checks them. */
  static of(versions: Iterable<PriceVersion>): PriceBook {
    let book = PriceBook.empty;
    for (const v of [...versions].sort((a, b) => a.effectiveFrom - b.effectiveFrom)) book = book.with(v);
    return book;
  }

  /** A book with `card` added as a version effective from `effectiveFrom`. */
  add(card: RateCard, effectiveFrom: number, options: AddVersionOptions = {}): PriceBook {
    if (options.notBefore !== undefined && effectiveFrom < options.notBefore) {
      throw new PriceVersionError(
        `--effective ${iso(effectiveFrom)} is before ${iso(options.notBefore)}, the end of the last closed period; closed invoices never change: give a later --effective`,
      );
    }
    return this.with(createPriceVersion(card, effectiveFrom));
  }

  private with(version: PriceVersion): PriceBook {
    const hour = firstPricedHour(version);
    const clash = this.versions.find((v) => firstPricedHour(v) === hour);
    if (clash) {
      throw new PriceVersionError(
        `--effective ${iso(version.effectiveFrom)}: version ${clash.digest.slice(0, 12)} (effective ${iso(clash.effectiveFrom)}) already takes effect at ${iso(hour)}; versions are never edited: give the correction a later hour`,
      );
    }
    const versions = [...this.versions, version].sort((a, b) => a.effectiveFrom - b.effectiveFrom);
    return new PriceBook(Object.freeze(versions));
  }

  /** The version that prices the hour containing `ms`; undefined only for an empty book. */
  versionAt(ms: number): PriceVersion | undefined {
    const hour = hourStart(ms);
    let found = this.versions[0];
    for (const v of this.versions) {
      if (firstPricedHour(v) > hour) break;
      found = v;
    }
    return found;
  }

  /** Whether `card` differs in price from the version in force at `now` (the worker registers it then). */
  differsFromVersionAt(card: RateCard, now: number): boolean {
    return this.versionAt(now)?.card.digest !== card.digest;
  }
}
