#!/usr/bin/env node
// The `meter` binary. A host agent is meant to be invisible on the machine it meters: it runs a few
// hundred lines of JS every 5 s, so before anything is loaded it gets a small young generation and
// no optimising compilers (compiling hot code costs more memory than it saves time here). With V8's
// defaults an idle agent's RSS is ~1.6x a bare Node process; with these, ~1.4x. Other modes keep the
// defaults, which are faster under load.
import { setFlagsFromString } from 'node:v8';

// Everything meter writes holds money or secrets (ledgers, spools, logs, a broker's keys and password
// files): created readable by its owner only, whatever the shell's umask. Children inherit it.
process.umask(0o077);

const [command] = process.argv.slice(2);
if (command === 'agent' && !process.argv.some((a) => a.startsWith('--simulate'))) {
  setFlagsFromString('--max-semi-space-size=1 --no-opt --no-sparkplug');
}

const { run } = await import('./cli/main.js');
await run();
