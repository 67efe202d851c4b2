#!/usr/bin/env node
// The `meter` binary. A host agent's V8 flags are set where it is launched (the meter-agent bin,
// `meter up`), not here: see src/agent/v8-flags.ts.
const { run } = await import('./cli/main.js');
await run();
