/**
 * Data integrity: two numbers that must agree (records in the database, documents in the search
 * index), each read over HTTP (a JSON path) or SQL.
 *
 * SQL goes through `pg` (node-postgres): the PostgreSQL client the Node ecosystem has kept for over
 * a decade, pure JavaScript (no native build in the image), with pools and per-query timeouts built
 * in. Writing the wire protocol (SCRAM authentication, TLS) ourselves would be more code to get
 * wrong than the dependency.
 */
import pg from 'pg';
import type { IntegrityQuery, ProbeConfig } from './config.js';
import { atPath } from './http-probe.js';
import { fail, reasonOf, type ProbeRun } from './probe-result.js';

type IntegrityProbe = Extract<ProbeConfig, { kind: 'integrity' }>;

/** Pools by connection string, shared by every probe on the same database; closed with the prober. */
export class SqlPools {
  private readonly pools = new Map<string, pg.Pool>();

  get(connectionString: string, timeoutMs: number): pg.Pool {
    let pool = this.pools.get(connectionString);
    if (pool === undefined) {
      // Two connections: a probe never needs more, and a sick database is not given a crowd.
      pool = new pg.Pool({
        connectionString,
        max: 2,
        connectionTimeoutMillis: timeoutMs,
        query_timeout: timeoutMs,
        idleTimeoutMillis: 60_000,
        allowExitOnIdle: true,
      });
      // An idle client that loses its server emits here; without a listener it would crash the process.
      pool.on('error', () => undefined);
      this.pools.set(connectionString, pool);
    }
    return pool;
  }

  async close(): Promise<void> {
    const all = [...this.pools.values()];
    this.pools.clear();
    await Promise.all(all.map((p) => p.end().catch(() => undefined)));
  }
}

/** The relative difference of two counts: 0 when they agree, 1 when one is empty and the other not. */
export function mismatchOf(left: number, right: number): number {
  const scale = Math.max(Math.abs(left), Math.abs(right));
  return scale === 0 ? 0 : Math.abs(left - right) / scale;
}

function asNumber(v: unknown, what: string): number {
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : Number.NaN;
  if (!Number.isFinite(n)) throw new Error(`${what} is ${JSON.stringify(v) ?? 'missing'}, not a number`);
  return n;
}

/**
 * Reads one side. The connection string comes from the file or from `env` (resolved by the caller,
 * never read here from process.env); it never appears in a reason.
 */
function reader(
  q: IntegrityQuery,
  env: Readonly<Record<string, string | undefined>>,
  pools: SqlPools,
  timeoutMs: number,
): (signal: AbortSignal) => Promise<number> {
  if ('http' in q) {
    return async (signal) => {
      const res = await fetch(q.http, { headers: q.headers ?? {}, signal });
      if (!res.ok) throw new Error(`${q.http}: HTTP ${res.status}`);
      return asNumber(atPath(await res.json(), q.path), `${q.path} of ${q.http}`);
    };
  }
  return async () => {
    const conn = q.connection ?? env[q.connectionEnv!];
    if (conn === undefined || conn === '') throw new Error(`environment variable ${q.connectionEnv} is not set`);
    try {
      const r = await pools.get(conn, timeoutMs).query({ text: q.sql, rowMode: 'array' });
      return asNumber(r.rows[0]?.[0], `the first column of ${JSON.stringify(q.sql)}`);
    } catch (e) {
      throw new Error(reasonOf(e, [conn]));
    }
  };
}

/** Both sides, concurrently; agreement within `tolerance` passes, a disagreement fails with both numbers. */
export function integrityProbe(p: IntegrityProbe, env: Readonly<Record<string, string | undefined>>, pools: SqlPools): ProbeRun {
  const timeoutMs = p.timeoutSeconds * 1000;
  const left = reader(p.left, env, pools, timeoutMs);
  const right = reader(p.right, env, pools, timeoutMs);
  return async (signal) => {
    let l: number;
    let r: number;
    try {
      [l, r] = await Promise.all([left(signal), right(signal)]);
    } catch (e) {
      return fail(reasonOf(e));
    }
    const agreement = { left: l, right: r };
    const mismatch = mismatchOf(l, r);
    if (mismatch > p.tolerance)
      return { ok: false, reason: `${l} vs ${r}: ${(mismatch * 100).toFixed(2)} % apart (tolerance ${p.tolerance * 100} %)`, agreement };
    return { ok: true, agreement };
  };
}
