// A TCP proxy in front of a server that can fall silent the way a network cut leaves a client: the
// connections it carries stop carrying anything, their server side is closed (the server ends those
// sessions, as PostgreSQL does once its keepalives or tcp_user_timeout give up on a cut-off client),
// and their client side stays open and never hears another byte, not even a reset. Meanwhile new
// connections either go through (the cut is over) or hang unanswered (it is not).
import { connect, createServer, type Socket } from 'node:net';

export interface SilentProxy {
  /** The port to connect to instead of the server's. */
  port: number;
  /**
   * Silences every connection open the moment a client sends its `nth` message holding `text`,
   * which is taken and never forwarded; new connections hang too while `cutOff`. The cut lands at
   * a known point of the client's work, however fast that work goes. Answers whether it has landed.
   */
  silenceAt(text: string, nth: number, options: { cutOff: boolean }): () => boolean;
  /** New connections go through again (the silenced ones stay silent). */
  restore(): void;
  close(): Promise<void>;
}

export async function startSilentProxy(target: { host: string; port: number }): Promise<SilentProxy> {
  const live = new Set<{ client: Socket; server: Socket }>();
  const dead = new Set<Socket>();
  let cutOff = false;
  let trigger: { text: string; left: number; cutOff: boolean } | null = null;
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
    client.on('data', (chunk: Buffer) => {
      if (trigger && chunk.includes(trigger.text) && --trigger.left === 0) {
        silence({ cutOff: trigger.cutOff });
        trigger = null;
        return;
      }
      if (live.has(pair) && !server.write(chunk)) {
        client.pause();
        server.once('drain', () => client.resume());
      }
    });
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
  const silence = (options: { cutOff: boolean }): void => {
    cutOff = options.cutOff;
    for (const pair of live) {
      live.delete(pair);
      pair.server.unpipe(pair.client);
      pair.server.destroy();
      // What the client sends is still taken (as a peer's kernel would acknowledge it), never answered.
      pair.client.removeAllListeners('close');
      pair.client.removeAllListeners('data');
      pair.client.resume();
      dead.add(pair.client);
    }
  };
  return {
    port,
    silenceAt(text, nth, options) {
      const armed = (trigger = { text, left: nth, cutOff: options.cutOff });
      return () => armed.left === 0;
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
