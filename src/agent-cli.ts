#!/usr/bin/env -S node --max-semi-space-size=1 --no-opt --no-sparkplug
// `meter-agent`: `meter agent` as a host runs it (and examples/systemd/meter-agent.service), with the
// agent's V8 flags on the line above (the same as src/agent/v8-flags.ts; a test keeps them equal).
// Everything after it is `meter agent`'s flags: `meter-agent --brokers kafka:9092 --label team=search`.
import { main } from './cli/main.js';

await main(['agent', ...process.argv.slice(2)]);
