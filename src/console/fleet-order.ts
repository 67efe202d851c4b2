// The fleet pane's order, kept from frame to frame. At 10,000 machines sorted by CPU about 3,000
// rows change between frames, and sorting all 10,000 on every frame was most of React's render time.
// Here rows that did not change keep their places; the changed ones are sorted among themselves and
// merged in; a changed row whose sort value did not change (every row when sorting by name, the
// default) takes its predecessor's place without a comparison. The order is fleetRows()'s exactly:
// a total order (the number, then the machine's name, which is unique), so one way or the other
// gives the same rows.
import { compareSorted, fleetSortValue, matchesFilter, sortNumber, type MachineRow } from './snapshot.js';

interface Keyed {
  /** The machine's current row (a new object when the caller replaces rows rather than updating them). */
  row: MachineRow;
  /** Its index in the machines it was sorted from. */
  at: number;
  /** The sort key's number; -Infinity for unknown (and for every row when sorting by name). */
  value: number;
  /** The call that last gave it a new value, to be placed again: its old place is then not kept. */
  movedIn: number;
}

interface Sorted {
  machines: readonly MachineRow[];
  filter: string;
  key: string;
  reverse: boolean;
  keyed: Keyed[];
  /** Each index's entry in `keyed`; none for a row the filter leaves out. */
  byAt: (Keyed | undefined)[];
  /** Each index's row version when placed (rows may be brought up to date in place). */
  versions: Int32Array;
  rows: MachineRow[];
}

/** Past this share of the rows changed, sorting them all is as cheap as merging. */
const MERGE_LIMIT = 0.5;

export class FleetOrder {
  private last: Sorted | null = null;
  private calls = 0;
  /**
   * How the last call ordered its rows (for the tests): all sorted, changed ones merged, changed ones
   * each in its predecessor's place, or unchanged.
   */
  lastWay: 'sorted' | 'merged' | 'in place' | 'same' = 'sorted';

  /** fleetRows(machines, filter, sort), reusing the last call's order where rows did not change. */
  rows(machines: readonly MachineRow[], filter: string, sort: { key: string; reverse: boolean }): MachineRow[] {
    const last = this.last;
    if (!last || last.filter !== filter || last.key !== sort.key || last.reverse !== sort.reverse) return this.sortAll(machines, filter, sort);
    if (machines === last.machines) {
      this.lastWay = 'same';
      return last.rows;
    }
    // The snapshot builder keeps each machine at its index and brings its row up to date in place
    // under a new version (and builds a new array in another order when one is removed): so a row is
    // unchanged when the same object is at its index with the version it was placed with.
    const before = last.machines;
    if (machines.length < before.length) return this.sortAll(machines, filter, sort);
    const versions = last.versions;
    const added: number[] = [];
    for (let i = 0; i < before.length; i++) {
      const row = machines[i]!;
      if (row !== before[i] || (row.version ?? 0) !== versions[i]) added.push(i);
    }
    for (let i = before.length; i < machines.length; i++) added.push(i);

    const call = ++this.calls;
    const valueOf = fleetSortValue(sort.key);
    const compare = comparator(sort.reverse);
    const byAt = last.byAt;
    const incoming: Keyed[] = [];
    /** Entries made in this call (the rest of `incoming` are kept entries given a new number). */
    const fresh: Keyed[] = [];
    for (const at of added) {
      const row = machines[at]!;
      if (filter && !matchesFilter(row.machine, row.labels, filter)) {
        byAt[at] = undefined; // its predecessor's entry, if any, is dropped by the merge below
        continue;
      }
      const value = numberOf(valueOf, row);
      const previous = byAt[at];
      if (previous && previous.row.machine === row.machine) {
        previous.row = row;
        // Same name (the builder keeps a machine at its index) and same number: the same place.
        if (previous.value === value) continue;
        // A new number: the same entry is placed again (a new one for each was garbage to collect).
        previous.value = value;
        previous.movedIn = call;
        incoming.push(previous);
        continue;
      }
      const entry = { row, at, value, movedIn: call };
      byAt[at] = entry;
      incoming.push(entry);
      fresh.push(entry);
    }
    const kept = last.keyed;
    if (incoming.length > MERGE_LIMIT * Math.max(1, machines.length)) {
      // Most rows have a new number: one sort of every entry, from the last order, which the numbers
      // mostly keep (a machine's CPU moves a little between samples) and the sort is quicker on.
      const all: Keyed[] = [];
      for (const k of kept) if (byAt[k.at] === k) all.push(k);
      for (const e of fresh) all.push(e);
      all.sort(compare);
      this.lastWay = 'sorted';
      return this.keep(machines, filter, sort, all, byAt);
    }
    incoming.sort(compare);
    // A kept entry keeps its place while it is still its index's entry and was not given a new number.
    const stays = (k: Keyed) => byAt[k.at] === k && k.movedIn !== call;
    const keyed = new Array<Keyed>(kept.length + incoming.length);
    let i = 0;
    let j = 0;
    let n = 0;
    for (;;) {
      while (i < kept.length && !stays(kept[i]!)) i++;
      if (i >= kept.length || j >= incoming.length) break;
      keyed[n++] = compare(kept[i]!, incoming[j]!) <= 0 ? kept[i++]! : incoming[j++]!;
    }
    for (; i < kept.length; i++) if (stays(kept[i]!)) keyed[n++] = kept[i]!;
    while (j < incoming.length) keyed[n++] = incoming[j++]!;
    keyed.length = n;
    this.lastWay = incoming.length > 0 ? 'merged' : 'in place';
    return this.keep(machines, filter, sort, keyed, byAt);
  }

  private sortAll(machines: readonly MachineRow[], filter: string, sort: { key: string; reverse: boolean }): MachineRow[] {
    const valueOf = fleetSortValue(sort.key);
    const keyed: Keyed[] = [];
    const byAt = new Array<Keyed | undefined>(machines.length);
    machines.forEach((row, at) => {
      if (filter && !matchesFilter(row.machine, row.labels, filter)) return;
      const entry = { row, at, value: numberOf(valueOf, row), movedIn: 0 };
      keyed.push(entry);
      byAt[at] = entry;
    });
    keyed.sort(comparator(sort.reverse));
    this.lastWay = 'sorted';
    return this.keep(machines, filter, sort, keyed, byAt);
  }

  private keep(machines: readonly MachineRow[], filter: string, sort: { key: string; reverse: boolean }, keyed: Keyed[], byAt: (Keyed | undefined)[]): MachineRow[] {
    const rows = keyed.map((k) => k.row);
    // Kept from call to call while the fleet fits: a new one for each call would be promoted garbage.
    let versions = this.last?.versions;
    if (!versions || versions.length < machines.length) versions = new Int32Array(Math.max(1024, machines.length * 2));
    for (let i = 0; i < machines.length; i++) versions[i] = machines[i]!.version ?? 0;
    this.last = { machines, filter, key: sort.key, reverse: sort.reverse, keyed, byAt, versions, rows };
    return rows;
  }
}

function numberOf(valueOf: ((m: MachineRow) => number | null) | null, row: MachineRow): number {
  return sortNumber(valueOf ? valueOf(row) : null);
}

/** fleetRows()'s order (compareSorted) on keyed rows. */
function comparator(reverse: boolean): (a: Keyed, b: Keyed) => number {
  const direction = reverse ? -1 : 1;
  return (a, b) => compareSorted(a.value, a.row.machine, b.value, b.row.machine, direction);
}
