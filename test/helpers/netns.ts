// Processor hosts for tests: network namespaces joined to a bridge of the test's own (see
// /work/shared/notes/test-hosts.md). Each host has a veth whose root end is on the bridge; the bridge
// holds the address services in the root namespace (the Kafka broker, PostgreSQL) listen on. Taking
// a host's root end down cuts it off; up brings it back. Every name is unique to the test, and
// remove() (also run at process exit) deletes the namespaces and links, pass or fail.
//
// Addresses are on the links the test makes only; traffic never leaves them.
import { spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { randomBytes } from 'node:crypto';

export interface TestHost {
  name: string;
  /** The namespace's address on the bridge. */
  address: string;
  /** Runs a program inside the host's namespace (the child's pid is the program's: ip netns exec execs it). */
  spawn(command: string, args: string[], options?: SpawnOptions): ChildProcess;
  /** Cuts the host off the network (its link down) or brings it back. */
  cut(): void;
  restore(): void;
}

export interface TestNetwork {
  /** The bridge's address in the root namespace: where services for the hosts listen. */
  rootAddress: string;
  hosts: TestHost[];
  remove(): void;
}

function ip(args: string[], allowFail = false): string {
  const r = spawnSync('ip', args, { encoding: 'utf8', timeout: 30_000 });
  if (r.status !== 0 && !allowFail) throw new Error(`ip ${args.join(' ')} failed: ${r.stderr || r.error}`);
  return r.stdout ?? '';
}

/** A /24 in 10.0.0.0/8 not on any link of this machine. */
function freeSubnet(): string {
  const used = ip(['-4', '-o', 'addr', 'show']);
  for (let i = 0; i < 50; i++) {
    const b = randomBytes(2);
    const subnet = `10.${200 + (b[0]! % 50)}.${b[1]! % 250}`;
    if (!used.includes(` ${subnet}.`)) return subnet;
  }
  throw new Error('no free test subnet');
}

/** Can this process make namespaces (root, iproute2)? Tests that need hosts skip with the reason otherwise. */
export function netnsUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'network namespaces need root';
  const r = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  if (r.status !== 0) return `ip netns does not work here: ${r.stderr || r.error}`;
  return undefined;
}

export function createTestNetwork(count: number): TestNetwork {
  const id = randomBytes(3).toString('hex');
  const bridge = `mtb${id}`;
  const subnet = freeSubnet();
  const rootAddress = `${subnet}.1`;
  const namespaces: string[] = [];
  const rootEnds: string[] = [];
  let removed = false;
  const remove = () => {
    if (removed) return;
    removed = true;
    for (const ns of namespaces) ip(['netns', 'del', ns], true);
    for (const link of rootEnds) ip(['link', 'del', link], true);
    ip(['link', 'del', bridge], true);
  };
  process.once('exit', remove);
  try {
    ip(['link', 'add', bridge, 'type', 'bridge']);
    ip(['addr', 'add', `${rootAddress}/24`, 'dev', bridge]);
    ip(['link', 'set', bridge, 'up']);
    const hosts: TestHost[] = [];
    for (let i = 0; i < count; i++) {
      const ns = `meter-${id}-${i}`;
      const rootEnd = `mtv${id}${i}`;
      const hostEnd = `mte${id}${i}`;
      const address = `${subnet}.${10 + i}`;
      ip(['netns', 'add', ns]);
      namespaces.push(ns);
      ip(['link', 'add', rootEnd, 'type', 'veth', 'peer', 'name', hostEnd]);
      rootEnds.push(rootEnd);
      ip(['link', 'set', hostEnd, 'netns', ns]);
      ip(['link', 'set', rootEnd, 'master', bridge]);
      ip(['link', 'set', rootEnd, 'up']);
      ip(['-n', ns, 'addr', 'add', `${address}/24`, 'dev', hostEnd]);
      ip(['-n', ns, 'link', 'set', hostEnd, 'up']);
      ip(['-n', ns, 'link', 'set', 'lo', 'up']);
      hosts.push({
        name: ns,
        address,
        spawn: (command, args, options = {}) => spawn('ip', ['netns', 'exec', ns, command, ...args], { stdio: ['ignore', 'pipe', 'pipe'], ...options }),
        cut: () => void ip(['link', 'set', rootEnd, 'down']),
        restore: () => void ip(['link', 'set', rootEnd, 'up']),
      });
    }
    return { rootAddress, hosts, remove };
  } catch (error) {
    remove();
    throw error;
  }
}
