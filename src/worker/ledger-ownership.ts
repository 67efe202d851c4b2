// Never two ledgers for one group: the worker commits Kafka offsets with metadata naming its ledger,
// and before it consumes an assigned partition it reads what the group committed. A partition of the
// topic committed by another ledger means two ledgers bill one group, so each would bill the samples
// the other already billed: the worker refuses, in one line, before it bills anything.
import { MeterError } from '../cli/errors.js';
import type { LedgerIdentity } from '../ledger/index.js';

/** Exit code of a worker refused for a group that bills into another ledger: a configuration error. */
export const EXIT_OTHER_LEDGER = 2;

const PREFIX = 'meter-ledger:';
/** Kafka keeps at most offset.metadata.max.bytes (4096 by default) of metadata. */
const MAX_NAME = 1000;

export function encodeLedgerMetadata(identity: LedgerIdentity): string {
  return `${PREFIX}${JSON.stringify({ id: identity.id, name: identity.name.slice(0, MAX_NAME) })}`;
}

/** The ledger a committed offset's metadata names, or null when it names none (another program, an older meter). */
export function decodeLedgerMetadata(metadata: string | null | undefined): LedgerIdentity | null {
  if (!metadata?.startsWith(PREFIX)) return null;
  try {
    const parsed = JSON.parse(metadata.slice(PREFIX.length)) as { id?: unknown; name?: unknown };
    if (typeof parsed.id !== 'string' || !parsed.id) return null;
    return { id: parsed.id, name: typeof parsed.name === 'string' ? parsed.name : '(unnamed)' };
  } catch {
    return null;
  }
}

export interface CommittedOffset {
  partition: number;
  /** -1 when the group has committed nothing for the partition. */
  offset: number;
  metadata: string | null;
}

export interface OwnershipContext {
  group: string;
  topic: string;
  ours: LedgerIdentity;
  /** Partitions this member was assigned. */
  assigned: ReadonlySet<number>;
  /** Partitions the ledger already has offsets for (a commit without our metadata on them is an older meter's, ours). */
  known: ReadonlySet<number>;
}

/**
 * The refusal, if any, for what the group committed: any partition of the topic committed by another
 * ledger; or an assigned partition this ledger has never seen, committed by something naming no ledger.
 */
export function ownershipProblem(committed: CommittedOffset[], ctx: OwnershipContext): MeterError | undefined {
  const sorted = [...committed].sort((a, b) => a.partition - b.partition);
  for (const c of sorted) {
    if (c.offset < 0) continue;
    const owner = decodeLedgerMetadata(c.metadata);
    if (owner && owner.id !== ctx.ours.id) {
      return new MeterError(
        `group ${ctx.group} bills ${ctx.topic} into another ledger, ${owner.name} (partition ${c.partition}), not ${ctx.ours.name}; ` +
          `run every worker of the group with that --ledger, or give this ledger its own --group`,
        EXIT_OTHER_LEDGER,
      );
    }
  }
  for (const c of sorted) {
    if (c.offset < 0 || !ctx.assigned.has(c.partition) || ctx.known.has(c.partition)) continue;
    if (!decodeLedgerMetadata(c.metadata)) {
      return new MeterError(
        `group ${ctx.group} has offsets on ${ctx.topic} partition ${c.partition} committed without a ledger's name (an older meter or another program), ` +
          `and ${ctx.ours.name} has never billed it; run the workers with the ledger that did, or give this ledger its own --group`,
        EXIT_OTHER_LEDGER,
      );
    }
  }
  return undefined;
}
