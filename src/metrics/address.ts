// `--metrics HOST:PORT`, shared by every mode that serves metrics.
import { UsageError } from '../cli/errors.js';

export interface MetricsAddress {
  host: string;
  port: number;
}

/** Parses HOST:PORT ([::1]:9464 for IPv6; port 0 picks a free one). */
export function parseMetricsAddress(value: string, flag = '--metrics'): MetricsAddress {
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:\s[\]]+):(\d{1,5})$/.exec(value.trim());
  const port = m ? Number(m[2]) : NaN;
  if (!m || port > 65535) {
    throw new UsageError(`${flag}: "${value}" is not HOST:PORT (e.g. 127.0.0.1:9464, or 0.0.0.0:9464 to be scraped from other hosts)`);
  }
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port };
}
