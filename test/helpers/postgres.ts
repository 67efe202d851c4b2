// A private PostgreSQL server for the tests, started the way the Kafka broker is: Debian's PostgreSQL
// (`pg_config --bindir`), initdb into a temporary directory owned by the `postgres` user, a free port,
// listening only on the addresses asked for (127.0.0.1, and the root end of a test's veth), fsync off
// for speed. It is stopped and its directory removed by stop(), and at process exit, pass or fail.
//
// Clients log in as a superuser with a password over TCP (scram-sha-256), so the tests go through the
// same secret path as users: the password is in PGPASSWORD, never in the URL.
import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './broker.js';

export interface PrivatePostgres {
  /** postgres://USER@HOST:PORT/DB on the first listen address; the password is not in it. */
  url: string;
  /** The same server's URL on another of its listen addresses (a veth address for namespaced hosts). */
  urlOn(host: string, database?: string): string;
  user: string;
  password: string;
  port: number;
  dataDir: string;
  /** The environment a client needs for the password (PGPASSWORD), on top of `base`. */
  env(base?: NodeJS.ProcessEnv): NodeJS.ProcessEnv;
  /** Runs SQL as the superuser through psql (for setup and for checking from outside meter). */
  psql(sql: string, database?: string): string;
  /** A fresh database on this server, for one test. */
  createDatabase(name: string): string;
  stop(): void;
}

let binDir: string | undefined;
function pgBin(tool: string): string {
  binDir ??= execFileSync('pg_config', ['--bindir'], { encoding: 'utf8' }).trim();
  return join(binDir, tool);
}

/** Runs a PostgreSQL tool as the `postgres` user (initdb and the server refuse to run as root). */
function asPostgres(tool: string, args: string[]): { status: number | null; out: string } {
  const root = process.getuid?.() === 0;
  const [cmd, argv] = root ? ['runuser', ['-u', 'postgres', '--', pgBin(tool), ...args]] : [pgBin(tool), args];
  const r = spawnSync(cmd, argv, { encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, out: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? String(r.error) : ''}` };
}

function postgresUid(): { uid: number; gid: number } {
  const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
  return { uid, gid };
}

/** Starts a private PostgreSQL listening on `hosts` (default 127.0.0.1). */
export async function startPrivatePostgres(options: { hosts?: string[] } = {}): Promise<PrivatePostgres> {
  const hosts = options.hosts ?? ['127.0.0.1'];
  const dataDir = mkdtempSync(join(tmpdir(), 'meter-pg-'));
  const { uid, gid } = postgresUid();
  chownSync(dataDir, uid, gid);
  const cluster = join(dataDir, 'data');
  const user = 'meter_test';
  const password = randomBytes(12).toString('hex');
  const pwfile = join(dataDir, 'pw');
  writeFileSync(pwfile, `${password}\n`, { mode: 0o600 });
  chownSync(pwfile, uid, gid);
  const port = await freePort();
  let stopped = false;
  const stop = () => {
    if (stopped) return;
    stopped = true;
    asPostgres('pg_ctl', ['-D', cluster, 'stop', '-m', 'immediate', '-w', '-t', '30']);
    rmSync(dataDir, { recursive: true, force: true });
  };
  process.once('exit', stop);
  try {
    const init = asPostgres('initdb', ['-D', cluster, '-U', user, `--pwfile=${pwfile}`, '--auth-local=trust', '--auth-host=scram-sha-256', '-E', 'UTF8', '--no-sync']);
    if (init.status !== 0) throw new Error(`initdb failed: ${init.out}`);
    const settings = [
      `-p ${port}`,
      `-k ${dataDir}`,
      `-c listen_addresses='${hosts.join(',')}'`,
      '-c fsync=off',
      '-c synchronous_commit=off',
      '-c full_page_writes=off',
      '-c max_connections=60',
      '-c shared_buffers=64MB',
    ].join(' ');
    // pg_hba: password logins from any address the server listens on (the tests' own links only).
    const hba = join(cluster, 'pg_hba.conf');
    execFileSync('sh', ['-c', `echo 'host all all 0.0.0.0/0 scram-sha-256' >> '${hba}'`]);
    const start = asPostgres('pg_ctl', ['-D', cluster, '-o', settings, '-l', join(dataDir, 'server.log'), '-w', '-t', '60', 'start']);
    if (start.status !== 0) throw new Error(`pg_ctl start failed: ${start.out}`);
  } catch (error) {
    stop();
    throw error;
  }
  const env = (base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv => ({ ...base, PGPASSWORD: password });
  const psql = (sql: string, database = 'postgres'): string => {
    const r = spawnSync(pgBin('psql'), ['-h', hosts[0]!, '-p', String(port), '-U', user, '-d', database, '-v', 'ON_ERROR_STOP=1', '-At', '-c', sql], {
      encoding: 'utf8',
      env: env(),
      timeout: 60_000,
    });
    if (r.status !== 0) throw new Error(`psql failed: ${r.stderr}`);
    return r.stdout.trim();
  };
  const urlOn = (host: string, database = 'postgres') => `postgres://${user}@${host}:${port}/${database}`;
  return {
    url: urlOn(hosts[0]!),
    urlOn,
    user,
    password,
    port,
    dataDir,
    env,
    psql,
    createDatabase: (name: string) => {
      psql(`CREATE DATABASE "${name}"`);
      return urlOn(hosts[0]!, name);
    },
    stop,
  };
}

/** A database name unique to this process and call. */
export function uniqueDatabase(prefix = 'meter'): string {
  return `${prefix}_${process.pid}_${Date.now()}_${Math.floor(Math.random() * 1e6)}`.toLowerCase();
}
