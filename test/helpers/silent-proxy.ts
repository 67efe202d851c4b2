// A TCP proxy in front of a server that can fall silent the way a network cut leaves a client: the
// connections it carries stop carrying anything, their server side is closed (the server ends those
// sessions, as PostgreSQL does once its keepalives or tcp_user_timeout give up on a cut-off client),
// and their client side stays open and never hears another byte, not even a reset. Meanwhile new
// connections either go through (the cut is over) or hang unanswered (it is not).
import { connect, createServer, type Socket } from 'node:net';

export interface SilentProxy {
  /** The port to connect to instead of the server's. */
  port: number;
  /** Silences every connection open now; new ones hang too while `cutOff`. Answers how many were silenced. */
  silence(options: { cutOff: boolean }): number;
  /** New connections go through again (the silenced ones stay silent). */
  restore(): void;
  close(): Promise<void>;
}

export async function startSilentProxy(target: { host: string; port: number }): Promise<SilentProxy> {
  const live = new Set<{ client: Socket; server: Socket }>();
  const dead = new Set<Socket>();
  let cutOff = false;
  const proxy = createServer((client) => {
    client.on('error', () => {});
    if (cutOff) {
      // Accepted, read and never answered.
      dead.add(client);
      client.resume();
      return;
    }
    const server = connect(target);
    server.on('error', () => {});
    const pair = { client, server };
    live.add(pair);
    client.pipe(server);
    server.pipe(client);
    const end = () => {
      if (!live.delete(pair)) return;
      client.destroy();
      server.destroy();
    };
    client.on('close', end);
    server.on('close', end);
  });
  await new Promise<void>((resolve, reject) => {
    proxy.once('error', reject);
    proxy.listen(0, '127.0.0.1', () => resolve());
  });
  const address = proxy.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    port,
    silence(options) {
      cutOff = options.cutOff;
      const count = live.size;
      for (const pair of live) {
        live.delete(pair);
        pair.client.unpipe(pair.server);
        pair.server.unpipe(pair.client);
        pair.server.destroy();
        // What the client sends is still taken (as a peer's kernel would acknowledge it), never answered.
        pair.client.removeAllListeners('close');
        pair.client.resume();
        dead.add(pair.client);
      }
      return count;
    },
    restore() {
      cutOff = false;
    },
    async close() {
      for (const pair of live) {
        pair.client.destroy();
        pair.server.destroy();
      }
      for (const socket of dead) socket.destroy();
      await new Promise<void>((resolve) => proxy.close(() => resolve()));
    },
  };
}
