/**
 * Data-integrity health checks against a real PostgreSQL (Debian's packages, started by the
 * harness) and a "search index" served over HTTP on loopback; the schedule on a virtual clock,
 * the queries real. The end-to-end case runs the prober through a real Pipeline for a day of
 * agreement and then breaks one stack's index.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { healthChecksConfigSchema } from '../src/adapters/health-checks/config.js';
import { HealthProber } from '../src/adapters/health-checks/prober.js';
import { parseConfig } from '../src/config/load.js';
import type { DeltaEvent, Sample } from '../src/domain/types.js';
import type { Recommendation } from '../src/domain/decision.js';
import { Pipeline, type PipelineOutput } from '../src/pipeline/pipeline.js';
import { startPostgres, type PostgresHandle } from './support/postgres.js';
import { capturedLogger, startProbeTarget, type ProbeTarget } from './support/probe-target.js';
import { missing } from './support/requires.js';
import { VirtualClock } from './support/virtual-clock.js';

const T0 = Date.parse('2026-03-02T00:00:00Z');
const MIN = 60_000;
const STACKS = ['east', 'west'] as const;

describe.skipIf(missing('postgres'))('integrity health checks on PostgreSQL', () => {
  let db: PostgresHandle;
  let target: ProbeTarget;
  let client: pg.Client;
  beforeAll(async () => {
    [db, target] = await Promise.all([startPostgres(), startProbeTarget()]);
    client = new pg.Client({ connectionString: db.url });
    await client.connect();
    for (const stack of STACKS) {
      await client.query(`create table orders_${stack} (id serial primary key, total numeric)`);
      await client.query(`insert into orders_${stack} (total) select g from generate_series(1, 1000) g`);
      target.indexCount.set(stack, 1000);
    }
  }, 60_000);
  afterAll(async () => {
    await client?.end();
    await target?.close();
    await db?.stop();
  });

  /** The orders table against the stack's search index, the connection string from the environment. */
  const ordersIndex = (stack: string, extra: Record<string, unknown> = {}) => ({
    name: 'orders_index',
    kind: 'integrity',
    stack,
    service: 'shop',
    intervalSeconds: 60,
    left: { sql: `select count(*) from orders_${stack}`, connectionEnv: 'PG_URL' },
    right: { http: `${target.url}/search/${stack}/_count`, path: 'count' },
    ...extra,
  });

  function prober(probes: unknown[], env: Record<string, string>, emit: (s: Sample[]) => void, clock: VirtualClock) {
    const { log, lines } = capturedLogger();
    const p = new HealthProber(healthChecksConfigSchema.parse({ probes }), emit, log, { now: clock.now, timers: clock, env });
    return { p, lines };
  }

  it('reads both numbers, compares within the tolerance, and fails a broken query without logging its password', async () => {
    const clock = new VirtualClock(T0);
    const samples: Sample[] = [];
    const secretUrl = db.url.replace('postgres@', 'postgres:s3cret-pw@').replace(/\/harbinger_test$/, '/no_such_db');
    const { p, lines } = prober(
      [
        ordersIndex('east'),
        { ...ordersIndex('west'), right: { sql: 'select count(*) - 3 from orders_west', connection: db.url }, tolerance: 0.005 },
        { ...ordersIndex('north'), left: { sql: 'select count(*) from orders_east', connectionEnv: 'BROKEN_PG_URL' } },
        { ...ordersIndex('south'), left: { sql: 'select 1', connectionEnv: 'UNSET_PG_URL' } },
      ],
      { PG_URL: db.url, BROKEN_PG_URL: secretUrl },
      (s) => samples.push(...s),
      clock,
    );
    p.start();
    await clock.advanceTo(T0 + MIN, () => p.idle());
    await p.stop();
    const of = (stack: string) => Object.fromEntries(samples.filter((s) => s.stack === stack).map((s) => [s.metric, s.value]));
    expect(of('east')).toEqual({ probe_orders_index_failed_ratio: 0, integrity_orders_index_agreement_ratio: 1 });
    expect(samples.find((s) => s.stack === 'east' && s.signal === 'business')).toMatchObject({ count: 1000, service: 'shop' });
    expect(of('west')).toEqual({ probe_orders_index_failed_ratio: 0, integrity_orders_index_agreement_ratio: 1 }); // 3 of 1000 apart: within 0.5 %
    expect(of('north')).toEqual({ probe_orders_index_failed_ratio: 1 }); // no number, no agreement sample: a gap
    expect(of('south')).toEqual({ probe_orders_index_failed_ratio: 1 });
    const text = lines.join('\n');
    expect(text).toContain('database \\"no_such_db\\" does not exist');
    expect(text).toContain('environment variable UNSET_PG_URL is not set');
    expect(text).not.toContain('s3cret-pw');
  });

  it('a mismatch on one stack, after a day of agreement, ends in a recommendation for that stack', async () => {
    const clock = new VirtualClock(T0);
    const out: PipelineOutput[] = [];
    const pipeline = new Pipeline(parseConfig({}), { output: (e) => void out.push(e) });
    const { p } = prober(
      STACKS.map((s) => ordersIndex(s)),
      { PG_URL: db.url },
      (samples) => {
        for (const s of samples) pipeline.offerSample(s);
      },
      clock,
    );
    p.start();
    const breakAt = T0 + 1500 * MIN;
    await clock.advanceTo(breakAt, () => p.idle());
    expect(out.filter((e) => e.type === 'anomaly')).toEqual([]);
    // Orders written on east that its search index never received: 150 of 1150 missing (13 %).
    await client.query('insert into orders_east (total) select g from generate_series(1, 150) g');
    await clock.advanceTo(breakAt + 45 * MIN, () => p.idle());
    await p.stop();
    pipeline.flush();

    const metric = 'integrity_orders_index_agreement_ratio';
    const confirmed = out.filter((e) => e.type === 'anomaly' && e.stage === 'confirmed' && e.metric === metric);
    expect(confirmed.length).toBeGreaterThan(0);
    expect(new Set(confirmed.map((e) => (e as { stack: string }).stack))).toEqual(new Set(['east']));
    const local = out.filter((e): e is DeltaEvent => e.type === 'delta' && e.metric === metric && e.scope === 'local');
    expect(local.map((e) => e.stack)).toContain('east');
    // The incident is east's: observed, then traffic shifted from east to its healthy peer.
    const recs = out.filter((e): e is Recommendation => e.type === 'recommendation');
    const first = recs.find((r) => r.action !== 'observe');
    expect(first).toMatchObject({ stack: 'east', service: 'shop', action: 'shift_traffic', targets: ['west'] });
    expect(new Set(recs.map((r) => r.incidentId))).toEqual(new Set([first!.incidentId]));
    expect(first!.incidentId).toMatch(/^inc-shop-east-/);
    // A shift cannot repair an index: post-action validation finds it ineffective and proposes its revert.
    const outcomes = out.filter((e) => e.type === 'outcome' && e.recommendationId === first!.id).map((e) => (e as { outcome: string }).outcome);
    expect(outcomes).toContain('ineffective');
    expect(recs.filter((r) => r.reverts === first!.id)).toHaveLength(1);
  }, 120_000);
});
