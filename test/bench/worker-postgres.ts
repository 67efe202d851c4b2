// The PostgreSQL references for bench/worker.ts: the same rows into the same samples table with the
// same client (pg), one transaction per batch of the worker's size, two ways:
//   multi-row INSERT: one INSERT ... SELECT FROM unnest($1::bigint[], ...) ON CONFLICT DO NOTHING per
//                     batch (what the PostgreSQL ledger falls back to when a batch has duplicates);
//   COPY:             COPY samples FROM STDIN per batch (pg-copy-streams), PostgreSQL's bulk path and
//                     the ledger's first try (it cannot skip duplicate ids by itself).
// And the databases they run in: a private server (test/helpers/postgres.ts), or one the user names.
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { openLedger } from '../../src/ledger/index.js';
import { busyMicros } from '../../src/billing/money.js';
import type { Sample } from '../../src/schema/sample.js';
import { startPrivatePostgres, uniqueDatabase } from '../helpers/postgres.js';

/** The rows the ledger stores for these samples: run and seq (the id), shape, window, usage. */
export function leanRows(samples: Sample[]): number[][] {
  const runs = new Map<string, number>();
  return samples.map((s) => {
    const colon = s.id.lastIndexOf(':');
    const run = s.id.slice(0, colon);
    let id = runs.get(run);
    if (id === undefined) runs.set(run, (id = runs.size + 1));
    return [id, Number(s.id.slice(colon + 1)), 1, s.start, s.end - s.start, busyMicros(s.cpu.busySeconds), s.mem.usedBytes, 1000, 0];
  });
}

export interface BenchDatabases {
  /** A fresh, empty database on the server: its URL (no password; PGPASSWORD is set). */
  create(prefix: string): Promise<string>;
  close(): Promise<void>;
}

/** `postgres` for a private server, or a postgres:// URL of a server where we may CREATE DATABASE. */
export async function benchDatabases(target: string): Promise<BenchDatabases> {
  if (target === 'postgres') {
    const server = await startPrivatePostgres();
    process.env.PGPASSWORD = server.password;
    return { create: async (prefix) => server.createDatabase(uniqueDatabase(prefix)), close: async () => server.stop() };
  }
  const admin = new pg.Client({ connectionString: target });
  await admin.connect();
  const made: string[] = [];
  return {
    create: async (prefix) => {
      const name = uniqueDatabase(prefix);
      await admin.query(`CREATE DATABASE "${name}"`);
      made.push(name);
      const url = new URL(target);
      url.pathname = `/${name}`;
      return url.toString();
    },
    close: async () => {
      for (const name of made) await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`).catch(() => {});
      await admin.end();
    },
  };
}

/** The same rows the ledger stores (leanRows), the ledger's schema created by opening it. */
async function freshTable(url: string): Promise<pg.Client> {
  await (await openLedger(url)).close();
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  return client;
}

const COLUMNS = 'run, seq, shape, start_ms, window_ms, cpu_busy_us, mem_used_bytes, ingest_lag_ms, adjusted_in';
const rowsOf = (rows: number[][], from: number, count: number) => rows.slice(from, from + count);

async function countRows(client: pg.Client): Promise<number> {
  return Number((await client.query('SELECT COUNT(*)::int AS n FROM samples')).rows[0].n);
}

/** Seconds for the multi-row INSERT loop. */
export async function pgInsertLoop(url: string, samples: Sample[], batchSize: number): Promise<number> {
  const client = await freshTable(url);
  try {
    const sql = `INSERT INTO samples (${COLUMNS}) SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[],
      $7::bigint[], $8::bigint[], $9::bigint[]) ON CONFLICT (run, seq) DO NOTHING`;
    const all = leanRows(samples);
    const t = performance.now();
    for (let i = 0; i < samples.length; i += batchSize) {
      const rows = rowsOf(all, i, batchSize);
      const columns = Array.from({ length: 9 }, (_, c) => rows.map((r) => r[c]));
      await client.query('BEGIN');
      await client.query(sql, columns);
      await client.query('COMMIT');
    }
    const seconds = (performance.now() - t) / 1000;
    if ((await countRows(client)) !== samples.length) throw new Error('the INSERT loop lost rows');
    return seconds;
  } finally {
    await client.end();
  }
}

/** Seconds for the COPY loop. */
export async function pgCopyLoop(url: string, samples: Sample[], batchSize: number): Promise<number> {
  const client = await freshTable(url);
  try {
    const all = leanRows(samples);
    const t = performance.now();
    for (let i = 0; i < samples.length; i += batchSize) {
      const rows = rowsOf(all, i, batchSize);
      // Text format: tab-separated integers.
      const text = rows.map((r) => r.join('\t')).join('\n') + '\n';
      await client.query('BEGIN');
      await pipeline(Readable.from([text]), client.query(copyFrom(`COPY samples (${COLUMNS}) FROM STDIN`)));
      await client.query('COMMIT');
    }
    const seconds = (performance.now() - t) / 1000;
    if ((await countRows(client)) !== samples.length) throw new Error('the COPY loop lost rows');
    return seconds;
  } finally {
    await client.end();
  }
}
