// Reads Prometheus text the way a scraper does: fetched over HTTP, parsed by an independent parser,
// Python's prometheus_client (the reference client's own text parser; .ci/run installs it).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';

export type Families = Record<string, { type: string; samples: [string, Record<string, string>, number | null][] }>;

const PARSER = `
import json, sys
from prometheus_client.parser import text_string_to_metric_families
out = {}
for family in text_string_to_metric_families(sys.stdin.read()):
    # NaN (an event-loop percentile before any delay is measured) is not JSON.
    out[family.name] = {"type": family.type, "samples": [[s.name, s.labels, s.value if s.value == s.value else None] for s in family.samples]}
print(json.dumps(out))
`;

export function parsePrometheus(text: string): Families {
  const r = spawnSync('python3', ['-c', PARSER], { input: text, encoding: 'utf8' });
  assert.equal(r.status, 0, `prometheus_client could not parse it (apt-get install python3-prometheus-client, or pip install prometheus_client): ${r.stderr}`);
  return JSON.parse(r.stdout) as Families;
}

/** GET /metrics: 200, Prometheus text 0.0.4. */
export async function scrape(url: string): Promise<string> {
  const res = await fetch(url);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  return res.text();
}

/** A sample's value by its name (with _total, _count, _bucket ...) and some of its labels; undefined when not served. */
export function sampleValue(families: Families, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const family of Object.values(families)) {
    for (const [n, l, v] of family.samples) {
      if (n === name && Object.entries(labels).every(([k, want]) => l[k] === want)) return v ?? NaN;
    }
  }
  return undefined;
}

/** Every sample of a name, with its labels. */
export function samplesOf(families: Families, name: string): { labels: Record<string, string>; value: number }[] {
  return Object.values(families).flatMap((f) => f.samples.filter(([n]) => n === name).map(([, labels, value]) => ({ labels, value: value ?? NaN })));
}
