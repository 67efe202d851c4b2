// Is a Kafka broker answering at an address? One ApiVersions request over plain TCP: cheap, no client
// library retries, and it tells a Kafka broker apart from any other process holding the port.
import { Socket, createConnection } from 'node:net';

const API_VERSIONS = 18;
const CLIENT_ID = 'meter-probe';

function apiVersionsRequest(correlationId: number): Buffer {
  const clientId = Buffer.from(CLIENT_ID, 'utf8');
  // Request header v1 (key, version, correlation id, client id); ApiVersions v0 has an empty body.
  const body = Buffer.alloc(2 + 2 + 4 + 2 + clientId.length);
  body.writeInt16BE(API_VERSIONS, 0);
  body.writeInt16BE(0, 2);
  body.writeInt32BE(correlationId, 4);
  body.writeInt16BE(clientId.length, 8);
  clientId.copy(body, 10);
  const size = Buffer.alloc(4);
  size.writeInt32BE(body.length, 0);
  return Buffer.concat([size, body]);
}

function splitHostPort(address: string): { host: string; port: number } {
  const i = address.lastIndexOf(':');
  const host = address.slice(0, i).replace(/^\[(.*)\]$/, '$1');
  return { host, port: Number(address.slice(i + 1)) };
}

/** True when the broker at address (host:port) answers ApiVersions without error within timeoutMs. */
export function probeBroker(address: string, timeoutMs = 2000): Promise<boolean> {
  const { host, port } = splitHostPort(address);
  const correlationId = Math.floor(Math.random() * 0x7fffffff);
  return new Promise((resolve) => {
    let socket: Socket | undefined;
    let received = Buffer.alloc(0);
    const done = (answer: boolean) => {
      clearTimeout(timer);
      socket?.destroy();
      resolve(answer);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket = createConnection({ host, port }, () => socket?.write(apiVersionsRequest(correlationId)));
    socket.on('error', () => done(false));
    socket.on('close', () => done(false));
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (received.length < 10) return;
      const size = received.readInt32BE(0);
      if (received.length < 4 + size) return;
      done(received.readInt32BE(4) === correlationId && received.readInt16BE(8) === 0);
    });
  });
}

/** True when any of the brokers (an array or a comma-separated list) answers within timeoutMs. */
export async function brokerAnswers(brokers: string | string[], timeoutMs = 2000): Promise<boolean> {
  const list = (Array.isArray(brokers) ? brokers : brokers.split(',')).map((b) => b.trim()).filter(Boolean);
  const answers = await Promise.all(list.map((b) => probeBroker(b, timeoutMs)));
  return answers.some(Boolean);
}

/** True when something accepts TCP connections at host:port (a broker or anything else). */
export function portInUse(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port });
    const done = (inUse: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(inUse);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.on('connect', () => done(true));
    socket.on('error', () => done(false));
  });
}
