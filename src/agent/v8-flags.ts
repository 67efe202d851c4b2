// V8 flags for a host agent, given where the process is launched (the meter-agent bin's shebang line,
// `meter up`'s spawn, the systemd unit through meter-agent), never changed at run time. The agent runs
// a few hundred lines of JS every few seconds: compiling hot code costs more memory than it saves
// time, and a 1 MiB young generation is plenty. With V8's defaults an idle agent's RSS is ~1.6x a
// bare node process; with these, ~1.4x. Other modes (the worker, the console, a simulated fleet) keep
// V8's defaults, which are faster under load.
export const AGENT_V8_FLAGS = ['--max-semi-space-size=1', '--no-opt', '--no-sparkplug'] as const;
