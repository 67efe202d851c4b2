import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../../helpers/cli.js';
import { AGENT_V8_FLAGS } from '../../../src/agent/v8-flags.js';

test("meter-agent's shebang line carries the agent's V8 flags, and the agent unit launches meter-agent", () => {
  const shebang = readFileSync(join(repoRoot, 'src', 'agent-cli.ts'), 'utf8').split('\n')[0]!;
  assert.equal(shebang, `#!/usr/bin/env -S node ${AGENT_V8_FLAGS.join(' ')}`);
  const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { bin: Record<string, string> };
  assert.equal(pkg.bin['meter-agent'], 'dist/src/agent-cli.js');
  const unit = readFileSync(join(repoRoot, 'examples', 'systemd', 'meter-agent.service'), 'utf8');
  assert.match(unit, /^ExecStart=\/usr\/local\/bin\/meter-agent$/m);
  // Not set at run time any more.
  assert.doesNotMatch(readFileSync(join(repoRoot, 'src', 'cli.ts'), 'utf8'), /setFlagsFromString/);
});
