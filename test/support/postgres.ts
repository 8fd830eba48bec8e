import { execFile as execFileCb } from 'node:child_process';
import { chownSync, existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { freePort } from './ports.js';
import { looksLikePortInUse, spawnProcess, trackTempDir, waitFor, type ManagedProcess } from './process.js';

const execFile = promisify(execFileCb);

/** Debian's PostgreSQL (apt-get install postgresql): the newest major under /usr/lib/postgresql, or POSTGRES_BIN_DIR. */
function findBinDir(): string {
  const fromEnv = process.env['POSTGRES_BIN_DIR'];
  if (fromEnv !== undefined) return fromEnv;
  const root = '/usr/lib/postgresql';
  const majors = existsSync(root) ? readdirSync(root).filter((d) => /^\d+$/.test(d)) : [];
  majors.sort((a, b) => Number(b) - Number(a));
  return join(root, majors[0] ?? 'NOT-INSTALLED', 'bin');
}

export const POSTGRES_BIN_DIR = findBinDir();
export const POSTGRES_BIN = join(POSTGRES_BIN_DIR, 'postgres');

export interface PostgresHandle {
  port: number;
  /** Connection string of the database created for the test (superuser `postgres`, trust auth on loopback). */
  url: string;
  dir: string;
  logs(): string;
  /** Stops the server (SIGTERM: it waits for clients to leave, so close yours first; SIGKILL after 5 s) and removes `dir`. */
  stop(): Promise<void>;
}

/**
 * PostgreSQL refuses to run as root; under root (CI containers) the cluster belongs to Debian's
 * `postgres` user and every server command runs as it. `--pdeathsig` comes after the uid change
 * (which clears it), so the server still dies with the test run.
 */
function asServerUser(): { uid: number; gid: number; wrap: (bin: string, args: string[]) => [string, string[]] } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const { uid, gid } = userInfoOf('postgres');
  return {
    uid,
    gid,
    wrap: (bin, args) => ['/usr/bin/setpriv', [`--reuid=${uid}`, `--regid=${gid}`, '--clear-groups', '--pdeathsig', 'KILL', '--', bin, ...args]],
  };
}

/** uid and gid of a local user, from /etc/passwd. */
function userInfoOf(name: string): { uid: number; gid: number } {
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${name}:`));
  if (line === undefined) throw new Error(`running as root, and there is no '${name}' user to run PostgreSQL as (apt-get install postgresql creates it)`);
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

/**
 * Starts a throwaway PostgreSQL on 127.0.0.1: initdb into a temp dir, the server in the foreground
 * (not `pg_ctl start`, which daemonizes: a daemon would outlive a killed test run, a child does not),
 * then `createdb`. Durability is off (fsync=off): the data lives as long as the test.
 */
export async function startPostgres(database = 'harbinger_test'): Promise<PostgresHandle> {
  const dir = await mkdtemp(join(tmpdir(), 'harbinger-pg-'));
  const removeDir = trackTempDir(dir);
  const owner = asServerUser();
  try {
    if (owner !== undefined) chownSync(dir, owner.uid, owner.gid);
    const data = join(dir, 'data');
    await execFile(join(POSTGRES_BIN_DIR, 'initdb'), ['-D', data, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--locale=C', '--no-sync'], {
      ...(owner !== undefined ? { uid: owner.uid, gid: owner.gid } : {}),
      cwd: dir,
    });
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      const args = [
        '-D',
        data,
        '-p',
        String(port),
        '-k',
        dir,
        '-h',
        '127.0.0.1',
        '-c',
        'fsync=off',
        '-c',
        'synchronous_commit=off',
        '-c',
        'full_page_writes=off',
      ];
      const [cmd, argv] = owner !== undefined ? owner.wrap(POSTGRES_BIN, args) : [POSTGRES_BIN, args];
      const proc = spawnProcess('postgres', cmd, argv, { cwd: dir });
      try {
        await waitFor(() => connectOnce(`postgres://postgres@127.0.0.1:${port}/postgres`), 30_000, {
          description: `postgres on port ${port}`,
          context: () => proc.logs(),
          abortIf: () => (proc.exitInfo() !== undefined ? `postgres exited (${JSON.stringify(proc.exitInfo())})` : undefined),
        });
      } catch (err) {
        await proc.stop();
        if (attempt < 3 && looksLikePortInUse(proc.logs())) continue;
        throw err;
      }
      await execFile(join(POSTGRES_BIN_DIR, 'createdb'), ['-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', database]);
      return handle(proc, port, dir, database, removeDir);
    }
  } catch (err) {
    await removeDir();
    throw err;
  }
}

async function connectOnce(url: string): Promise<boolean> {
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1000 });
  try {
    await c.connect();
    return true;
  } finally {
    await c.end().catch(() => undefined);
  }
}

function handle(proc: ManagedProcess, port: number, dir: string, database: string, removeDir: () => Promise<void>): PostgresHandle {
  return {
    port,
    url: `postgres://postgres@127.0.0.1:${port}/${database}`,
    dir,
    logs: () => proc.logs(),
    stop: async () => {
      await proc.stop();
      await removeDir();
    },
  };
}
