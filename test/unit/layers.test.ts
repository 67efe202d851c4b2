// The folders' dependency direction, checked on the source: components/ renders what src/ computes,
// and src/ does not reach into components/ (only the commands, the top layer, hand the console its
// screen: components/screen.tsx). Nothing a component loads talks to Kafka or a ledger.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync, existsSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { repoRoot } from '../helpers/cli.js';

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : /\.tsx?$/.test(name) && !name.endsWith('.d.ts') ? [path] : [];
  });
}

/** Runtime imports of a file (static and dynamic; `import type` is erased, so it does not count). */
function imports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(/^\s*(?:import|export)\s+(?!type\b)(?:[^'";]*?\sfrom\s+)?['"]([^'"]+)['"]/gm)) out.push(m[1]!);
  for (const m of text.matchAll(/import\(\s*['"]([^'"]+)['"]\s*\)/g)) out.push(m[1]!);
  return out;
}

function resolveLocal(from: string, spec: string): string | null {
  if (!spec.startsWith('.')) return null;
  const base = resolve(dirname(from), spec).replace(/\.js$/, '');
  for (const ext of ['.ts', '.tsx']) if (existsSync(base + ext)) return base + ext;
  return null;
}

const rel = (f: string) => relative(repoRoot, f);

test('src/ never imports components/, except the commands handing the console its screen', () => {
  const offenders: string[] = [];
  for (const f of files(join(repoRoot, 'src'))) {
    for (const spec of imports(f)) {
      const target = resolveLocal(f, spec);
      if (!target || !rel(target).startsWith('components/')) continue;
      const allowed = /^src\/commands\/(console|up)\.ts$/.test(rel(f)) && rel(target) === 'components/screen.tsx';
      if (!allowed) offenders.push(`${rel(f)} -> ${rel(target)}`);
    }
  }
  assert.deepEqual(offenders, []);
});

test('what components/ loads reaches neither Kafka nor a ledger, nor back into the commands', () => {
  const seen = new Set<string>();
  const packages = new Set<string>();
  const stack = files(join(repoRoot, 'components'));
  while (stack.length) {
    const f = stack.pop()!;
    if (seen.has(f)) continue;
    seen.add(f);
    for (const spec of imports(f)) {
      const target = resolveLocal(f, spec);
      if (target) stack.push(target);
      else packages.add(spec);
    }
  }
  const reached = [...seen].map(rel);
  for (const bad of ['src/kafka/', 'src/ledger/', 'src/commands/', 'src/worker/', 'src/agent/']) {
    assert.deepEqual(reached.filter((f) => f.startsWith(bad)), [], `components reach ${bad}`);
  }
  assert.ok(!packages.has('kafkajs') && !packages.has('better-sqlite3'), [...packages].join(', '));
  assert.ok(reached.includes('src/console/keys.ts'), 'the walk follows imports into src/');
});
