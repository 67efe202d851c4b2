#!/usr/bin/env node
// The `meter` binary. A host agent is meant to be invisible on the machine it meters, so before
// anything is loaded it gets a small young generation: V8's default lets an idle agent's RSS grow
// to ~1.7x a bare Node process. Other modes keep the default, which is faster under load.
import { setFlagsFromString } from 'node:v8';

const [command] = process.argv.slice(2);
if (command === 'agent' && !process.argv.some((a) => a.startsWith('--simulate'))) {
  setFlagsFromString('--max-semi-space-size=1');
}

const { run } = await import('./cli/main.js');
await run();
