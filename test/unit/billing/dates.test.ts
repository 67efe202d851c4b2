import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { UsageError } from '../../../src/cli/errors.js';
import {
  daysInMonth,
  hourCeil,
  hourStart,
  monthStart,
  nextMonthStart,
  parseInstant,
  parsePeriod,
  periodOf,
  periodsCovering,
} from '../../../src/billing/dates.js';

const refused = (fn: () => unknown, pattern: RegExp) =>
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof UsageError, 'a usage error: exit 2');
    assert.match((error as Error).message, pattern);
    assert.ok(!(error as Error).message.includes('\n'), 'one line');
    return true;
  });

test('impossible dates are refused, never rolled over into the next month', () => {
  refused(() => parseInstant('from', '2026-02-31'), /^--from: "2026-02-31" is not a date: February 2026 has 28 days; give e\.g\./);
  refused(() => parseInstant('to', '2026-02-29'), /February 2026 has 28 days/);
  refused(() => parseInstant('to', '2026-04-31T00:00Z'), /April 2026 has 30 days/);
  refused(() => parseInstant('from', '2026-00-10'), /has no month 0/);
  refused(() => parseInstant('from', '2026-13-01'), /has no month 13/);
  refused(() => parseInstant('from', '2026-11-00'), /November 2026 has 30 days/);
  refused(() => parseInstant('from', '2026-11-01T24:00'), /not a time of day/);
  refused(() => parseInstant('from', '2026-11-01T12:60Z'), /not a time of day/);
  refused(() => parseInstant('from', '2026-11-01T12:00:60Z'), /not a time of day/);
  refused(() => parseInstant('effective', '2026-11-01T12:00+24:00'), /has no UTC offset \+24:00/);
  refused(() => parseInstant('from', '26-11-01'), /is not an ISO date/);
  refused(() => parseInstant('from', 'yesterday'), /is not an ISO date/);
  refused(() => parseInstant('from', '2026-11-01T12:00:00.1234Z'), /is not an ISO date/);
  refused(() => parsePeriod('period', '2026-13'), /^--period: "2026-13" has no month 13; give YYYY-MM/);
  refused(() => parsePeriod('period', '2026-1'), /is not a month/);
  refused(() => parsePeriod('period', '2026-11-01'), /is not a month/);
});

test('real dates parse to the instant they name, UTC unless an offset is given', () => {
  assert.equal(parseInstant('from', '2024-02-29'), Date.UTC(2024, 1, 29), 'a leap day');
  assert.equal(parseInstant('from', '2000-02-29'), Date.UTC(2000, 1, 29), '2000 was a leap year');
  refused(() => parseInstant('from', '1900-02-29'), /February 1900 has 28 days/);
  assert.equal(parseInstant('from', '2026-11'), Date.UTC(2026, 10, 1), 'a month is its first day');
  assert.equal(parseInstant('from', '2026-11-01T12:30'), Date.UTC(2026, 10, 1, 12, 30));
  assert.equal(parseInstant('from', '2026-11-01 12:30:15.5'), Date.UTC(2026, 10, 1, 12, 30, 15, 500));
  assert.equal(parseInstant('from', '2026-11-01T12:00:00+02:00'), Date.UTC(2026, 10, 1, 10));
  assert.equal(parseInstant('from', '2026-11-01T00:30:00-05:30'), Date.UTC(2026, 10, 1, 6));
  assert.equal(parseInstant('from', ' 2026-11-01T00:00:00z '), Date.UTC(2026, 10, 1));
  assert.equal(parseInstant('from', '0099-01-01'), new Date('0099-01-01T00:00:00Z').getTime(), 'year 99 is not 1999');
});

test('every real calendar day parses back to itself; every day past the month end is refused', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1970, max: 2400 }), fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 31 }), (y, m, d) => {
      const text = `${y}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`;
      if (d <= daysInMonth(y, m)) {
        assert.equal(new Date(parseInstant('from', text)).toISOString().slice(0, 10), text);
      } else {
        assert.throws(() => parseInstant('from', text), UsageError);
      }
    }),
  );
});

test('billing periods are UTC calendar months', () => {
  const nov = parsePeriod('period', '2026-11');
  assert.deepEqual(nov, { from: Date.UTC(2026, 10, 1), to: Date.UTC(2026, 11, 1), label: '2026-11' });
  assert.deepEqual(parsePeriod('period', '2026-12').to, Date.UTC(2027, 0, 1));
  assert.deepEqual(periodOf(Date.UTC(2026, 1, 28, 23, 59)), parsePeriod('period', '2026-02'));
  assert.equal(monthStart(Date.UTC(2026, 1, 14, 5)), Date.UTC(2026, 1, 1));
  assert.equal(nextMonthStart(Date.UTC(2026, 1, 14, 5)), Date.UTC(2026, 2, 1));
  assert.deepEqual(
    periodsCovering(Date.UTC(2026, 0, 20), Date.UTC(2026, 2, 1)).map((p) => p.label),
    ['2026-01', '2026-02'],
    'a range ending on a month boundary does not touch the next month',
  );
  assert.deepEqual(periodsCovering(Date.UTC(2026, 0, 20), Date.UTC(2026, 0, 20)), []);
  assert.equal(hourStart(Date.UTC(2026, 0, 1, 5, 59)), Date.UTC(2026, 0, 1, 5));
  assert.equal(hourCeil(Date.UTC(2026, 0, 1, 5, 1)), Date.UTC(2026, 0, 1, 6));
  assert.equal(hourCeil(Date.UTC(2026, 0, 1, 5)), Date.UTC(2026, 0, 1, 5));
});
