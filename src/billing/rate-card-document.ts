// A validated rate card back as a document: the form a price version is stored in (in the ledger,
// in a closed invoice). parseRateCard() of the document gives the same prices and the same digest,
// so a stored version can be re-read and checked years later without the file it came from.
// Prices and tier bounds are exact decimal strings, never floats.
import { QUANTITY_DECIMALS, formatPrice, formatScaled } from './money.js';
import type { PriceSpec, RateCard } from './rate-card.js';

export interface PriceSpecDocument {
  mode: 'graduated' | 'volume';
  tiers: { upTo?: string; price: string }[];
}

export interface RateCardDocument {
  currency: string;
  account: string;
  cpu: PriceSpecDocument;
  memory: PriceSpecDocument;
  plans: {
    name: string;
    match: { machines?: string[]; labels?: Record<string, string> };
    cpu: PriceSpecDocument;
    memory: PriceSpecDocument;
  }[];
}

const quantity = (value: bigint): string => {
  const text = formatScaled(value, QUANTITY_DECIMALS).replace(/0+$/, '');
  return text.endsWith('.') ? text.slice(0, -1) : text;
};

function specDocument(spec: PriceSpec): PriceSpecDocument {
  return {
    mode: spec.mode,
    tiers: spec.tiers.map((t) => (t.upTo === null ? { price: formatPrice(t.price) } : { upTo: quantity(t.upTo), price: formatPrice(t.price) })),
  };
}

/**
 * The prices of `card` as a plain document (budgets, source and digest left out: they price nothing
 * or are derived). Every plan carries both resources, so the document does not depend on the card's
 * own prices to be read.
 */
export function rateCardDocument(card: RateCard): RateCardDocument {
  return {
    currency: card.currency,
    account: card.account === 'fleet' ? 'fleet' : `label:${card.account.label}`,
    cpu: specDocument(card.cpu),
    memory: specDocument(card.memory),
    plans: card.plans.map((p) => ({
      name: p.name,
      match: {
        ...(p.machines.length > 0 ? { machines: [...p.machines] } : {}),
        ...(Object.keys(p.labels).length > 0 ? { labels: { ...p.labels } } : {}),
      },
      cpu: specDocument(p.cpu),
      memory: specDocument(p.memory),
    })),
  };
}
