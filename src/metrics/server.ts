// Serves a prom-client registry as Prometheus text at /metrics. prom-client has no server of its
// own; node:http is all it takes, and this module is shared by every mode that has metrics.
import { createServer, type Server } from 'node:http';
import type { Registry } from 'prom-client';
import { MeterError } from '../cli/errors.js';
import type { Logger } from '../log/logger.js';
import type { MetricsAddress } from './address.js';

export interface MetricsServer {
  /** http://host:port/metrics, with the port actually bound. */
  url: string;
  port: number;
  close(): Promise<void>;
}

export async function serveMetrics(address: MetricsAddress, registry: Registry, logger: Logger): Promise<MetricsServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('meter serves Prometheus metrics at /metrics\n');
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(req.method === 'HEAD' ? undefined : text),
      (error: Error) => {
        logger.error('metrics: collecting failed', { error: error.message });
        res.writeHead(500, { 'content-type': 'text/plain' }).end(`${error.message}\n`);
      },
    );
  });
  // A scraper that keeps connections open must not hold the process at shutdown.
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      const why = error.code === 'EADDRINUSE' ? 'the port is in use' : error.code === 'EADDRNOTAVAIL' ? 'no such address on this host' : error.message;
      reject(new MeterError(`--metrics: cannot listen on ${address.host}:${address.port} (${why}); pick another HOST:PORT`, 2));
    });
    server.listen(address.port, address.host, () => resolve());
  });
  const bound = server.address();
  const port = typeof bound === 'object' && bound ? bound.port : address.port;
  const host = address.host.includes(':') ? `[${address.host}]` : address.host;
  return {
    url: `http://${host}:${port}/metrics`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
