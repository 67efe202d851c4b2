#!/usr/bin/env node
// The `meter` binary. A host agent's V8 flags are set where it is launched (the meter-agent bin,
// `meter up`), not here: see src/agent/v8-flags.ts.

// Everything meter writes holds money or secrets (ledgers, spools, logs, a broker's keys and password
// files): created readable by its owner only, whatever the shell's umask. Children inherit it.
process.umask(0o077);

const { run } = await import('./cli/main.js');
await run();
