// The PostgreSQL references for bench/worker.ts: the same rows into the same samples table with the
// same client (pg), one transaction per batch of the worker's size, two ways:
//   multi-row INSERT: one INSERT ... SELECT FROM unnest($1::text[], ...) ON CONFLICT DO NOTHING per
//                     batch, the statement the PostgreSQL ledger uses;
//   COPY:             COPY samples FROM STDIN per batch (pg-copy-streams), PostgreSQL's bulk path,
//                     which cannot skip duplicate ids by itself.
// And the databases they run in: a private server (test/helpers/postgres.ts), or one the user names.
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { busyMicros } from '../../src/billing/money.js';
import { PG_MIGRATIONS } from '../../src/ledger/postgres/schema.js';
import type { Sample } from '../../src/schema/sample.js';
import { startPrivatePostgres, uniqueDatabase } from '../helpers/postgres.js';

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

type Row = [string, string, number, number, number, number, number, number, number, number, number, number, number, number];

function rowsOf(samples: Sample[], base: number): Row[] {
  return samples.map((s, i) => [s.id, s.machine, 1, s.start, s.end, s.cpu.cores, busyMicros(s.cpu.busySeconds), s.mem.usedBytes, s.mem.totalBytes, 0, base + i, 1, 0, 0]);
}

async function freshTable(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await client.query('CREATE TABLE IF NOT EXISTS ledger_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)');
  await client.query(PG_MIGRATIONS[0]!.sql);
  return client;
}

const COLUMNS = 'id, machine, label_set, start_ms, end_ms, cores, cpu_busy_us, mem_used_bytes, mem_total_bytes, src_partition, src_offset, rate_card, cpu_micros, mem_micros';

async function countRows(client: pg.Client): Promise<number> {
  return Number((await client.query('SELECT COUNT(*)::int AS n FROM samples')).rows[0].n);
}

/** Seconds for the multi-row INSERT loop. */
export async function pgInsertLoop(url: string, samples: Sample[], batchSize: number): Promise<number> {
  const client = await freshTable(url);
  try {
    const sql = `INSERT INTO samples (${COLUMNS}) SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[],
      $7::bigint[], $8::bigint[], $9::bigint[], $10::int[], $11::bigint[], $12::bigint[], $13::bigint[], $14::bigint[]) ON CONFLICT (id) DO NOTHING`;
    const t = performance.now();
    for (let i = 0; i < samples.length; i += batchSize) {
      const rows = rowsOf(samples.slice(i, i + batchSize), i);
      const columns = Array.from({ length: 14 }, (_, c) => rows.map((r) => r[c]));
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
    const t = performance.now();
    for (let i = 0; i < samples.length; i += batchSize) {
      const rows = rowsOf(samples.slice(i, i + batchSize), i);
      // Text format: tab-separated; ids and machine names hold no tabs, newlines or backslashes.
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
