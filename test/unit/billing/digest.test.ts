import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fc from 'fast-check';
import { canonicalJson, diffInvoices, invoiceDigest } from '../../../src/billing/digest.js';

const invoice = {
  currency: 'USD',
  from: '2026-11-01T00:00:00.000Z',
  to: '2026-12-01T00:00:00.000Z',
  total: '6.000000',
  lines: [
    { key: 'db-1', cpuCoreHours: '50.000000', memGiBHours: '0.000000', cpuCost: '1.500000', memCost: '0.000000', total: '1.500000' },
    { key: 'web-1', cpuCoreHours: '90.000000', memGiBHours: '0.000000', cpuCost: '2.700000', memCost: '0.000000', total: '2.700000' },
  ],
};

test('the canonical form is RFC 8785: sorted keys, no white space; the digest is sha256 of it', () => {
  const text = canonicalJson({ b: 1, a: [true, null, 'é'], c: { z: 2n, y: undefined }, '\u00e9': 0.5, A: -0 });
  assert.equal(text, '{"A":0,"a":[true,null,"é"],"b":1,"c":{"z":"2"},"é":0.5}');
  // Independently: the same bytes through sha256sum.
  const canonical = canonicalJson(invoice);
  const sha256sum = execFileSync('sha256sum', { input: canonical }).toString().split(' ')[0];
  assert.equal(invoiceDigest(invoice), sha256sum);
  assert.ok(canonical.startsWith('{"currency":"USD","from":"2026-11-01T00:00:00.000Z","lines":[{"cpuCoreHours":"50.000000"'));
  assert.throws(() => canonicalJson({ a: Number.NaN }), /NaN is not allowed/);
  assert.throws(() => canonicalJson({ a: Infinity }), /Infinity is not allowed/);
});

test('the digest leaves out the digest field, and ignores key order', () => {
  const digest = invoiceDigest(invoice);
  assert.equal(invoiceDigest({ ...invoice, digest }), digest);
  const reordered = Object.fromEntries(Object.entries(invoice).reverse());
  assert.equal(invoiceDigest(reordered), digest);
  fc.assert(
    fc.property(fc.object({ maxDepth: 3, values: [fc.string(), fc.integer(), fc.boolean(), fc.constant(null)] }), (value) => {
      const reversed = JSON.parse(JSON.stringify(value), (_k, v) =>
        v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).reverse()) : v,
      );
      assert.equal(invoiceDigest(reversed), invoiceDigest(value));
    }),
  );
});

test('any change to an amount, a key or the line order changes the digest, and the diff names it', () => {
  const digest = invoiceDigest(invoice);
  const changed = structuredClone(invoice);
  changed.lines[1]!.cpuCost = '2.700001';
  assert.notEqual(invoiceDigest(changed), digest);
  assert.deepEqual(diffInvoices(invoice, changed), [{ path: 'lines[web-1].cpuCost', stored: '2.700000', rebuilt: '2.700001' }]);
  const extra = { ...invoice, total: '7.000000', lines: [...invoice.lines, { key: 'web-9', total: '1.000000' }] };
  assert.deepEqual(diffInvoices(invoice, extra), [
    { path: 'total', stored: '6.000000', rebuilt: '7.000000' },
    { path: 'lines[web-9]', stored: undefined, rebuilt: { key: 'web-9', total: '1.000000' } },
  ]);
  const swapped = { ...invoice, lines: [invoice.lines[1]!, invoice.lines[0]!] };
  assert.notEqual(invoiceDigest(swapped), digest);
  assert.deepEqual(diffInvoices(invoice, swapped), [{ path: 'lines (order)', stored: ['db-1', 'web-1'], rebuilt: ['web-1', 'db-1'] }]);
  assert.deepEqual(diffInvoices(invoice, structuredClone(invoice)), []);
  assert.deepEqual(diffInvoices({ ...invoice, digest: 'x' }, invoice), [], 'the digest field is not content');
});
