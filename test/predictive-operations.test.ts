import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config/load.js';
import { withActionsReachingData } from '../src/config/decision.js';
import { Pipeline } from '../src/pipeline/pipeline.js';
import { parseLine } from '../src/ingest/record-parser.js';
import { FileAuditLog } from '../src/adapters/file/audit-log.js';
import { auditKind } from '../src/report/audit-kind.js';
import { verifyChain } from '../src/core/audit/hash-chain.js';
import { toWebhookRequest, routingWebhookRequestSchema } from '../src/adapters/routing/webhook-controller.js';
import { HaproxyController } from '../src/adapters/routing/haproxy-controller.js';
import type { Recommendation } from '../src/domain/decision.js';
import { ExplainedWindows } from '../src/core/context/explained-windows.js';
import { ConfigError } from '../src/config/load.js';

const MIN = 60_000;
const fixture = (name: string): string[] => readFileSync(`fixtures/scenarios/${name}.jsonl`, 'utf8').trimEnd().split('\n');
const truthOf = (name: string) => JSON.parse(readFileSync(`fixtures/scenarios/${name}.truth.json`, 'utf8'));

/** Replays lines through the pipeline as `harbinger replay` does; `audit` gets every decision. */
function replay(lines: string[], raw: unknown = {}, audit?: FileAuditLog): { recs: Recommendation[]; pipeline: Pipeline } {
  const recs: Recommendation[] = [];
  const pipeline = new Pipeline(withActionsReachingData(parseConfig(raw), false), {
    output: (e) => {
      if (e.type === 'recommendation') recs.push(e);
      // As the service's audit sink: who acted, when a person did.
      if (audit !== undefined && (e.type === 'recommendation' || e.type === 'outcome' || e.type === 'incident'))
        audit.append(e.ts, auditKind(e), e.type === 'outcome' && e.by !== undefined ? e.by : 'harbinger', e);
    },
  });
  for (const line of lines) {
    const r = parseLine(line);
    if (!r.ok) throw new Error(r.reason);
    if (r.kind === 'sample') pipeline.offerSample(r.sample);
    else pipeline.offerEvent(r.event);
  }
  pipeline.flush();
  return { recs, pipeline };
}

const preemptive = (recs: Recommendation[]): Recommendation[] => recs.filter((r) => r.cause.kind === 'scheduled');
/** The announcement line with another multiplier (the same campaign, expected bigger or smaller). */
const withMultiplier = (lines: string[], m: number): string[] =>
  lines.map((l) => (l.includes('"expectedTrafficMultiplier"') ? l.replace(/"expectedTrafficMultiplier":[0-9.]+/, `"expectedTrafficMultiplier":${m}`) : l));

describe('predictive operations: a scheduled campaign forecast against each stack before it starts', () => {
  const saturation = fixture('campaign-saturation');
  const truth = truthOf('campaign-saturation');
  const west = truth.scheduled.find((s: { stack: string }) => s.stack === 'us-west-2');
  const start = Date.parse(west.start);

  it('recommends pre-scaling the stack it would saturate, 30+ min ahead, with the capacity it needs', () => {
    const [rec, ...more] = preemptive(replay(saturation).recs);
    expect(more).toHaveLength(0);
    expect(rec).toMatchObject({ action: 'pre_scale', stack: 'us-west-2', service: 'checkout', status: 'executed', percent: 0, targets: [] });
    // Announced at 04:44 for 09:14: the recommendation comes at the 40-minute lead (approval window + validation).
    expect((start - rec!.ts) / MIN).toBeGreaterThanOrEqual(30);
    expect(Math.round((start - rec!.ts) / MIN)).toBe(39);
    // ×1.30 its capacity: at least what keeps the noise-free cpu under the gate at ×2.1 (truth: ×1.28).
    expect(rec!.capacity).toEqual({ factor: 1.3, from: start, until: Date.parse(west.end) });
    expect(rec!.capacity!.factor).toBeGreaterThanOrEqual(west.capacityFactorToGate);
    expect(rec!.forecast).toMatchObject({ eventId: west.eventId, metric: 'cpu_utilization', multiplier: 2.1, limitOfGate: 0.9 });
    expect(rec!.forecast!.peakOfGate).toBeGreaterThan(1);
    expect(rec!.forecast!.stacks['us-east-1']).toBeLessThan(0.9);
    expect(rec!.reason).toMatch(/^scale us-west-2 to ×1\.30 its capacity from 09:14 to 11:14: us-west-2 cpu_utilization would reach 1\.\d+ of its gate/);
    expect(rec!.phases.map((p) => p.code)).toEqual([
      'scheduled_event',
      'forecast',
      'cause_found',
      'singled_out',
      'scale_ready',
      'confident',
      'not_required',
      'executed',
      'inconclusive',
      'scheduled',
    ]);
  });

  it('a campaign that fits the headroom produces nothing', () => {
    expect(preemptive(replay(fixture('campaign-fits')).recs)).toEqual([]);
  });

  it('names the target in capacity units when the stack says how many it runs', () => {
    const [rec] = preemptive(replay(saturation, { decision: { stacks: { 'us-west-2': { capacityUnits: 12 } } } }).recs);
    expect(rec!.capacity).toMatchObject({ factor: 1.3, currentUnits: 12, targetUnits: 16 });
    expect(rec!.reason).toContain('(12 → 16)');
  });

  it('pre-routes when only routing is allowed and the peer has room: the share goes to the stack with headroom', () => {
    // Expected ×1.8: us-west-2 needs to shed a few points; us-east-1 (larger) has room for more.
    const [rec] = preemptive(replay(withMultiplier(saturation, 1.8), { decision: { predictive: { actions: ['pre_route'] } } }).recs);
    expect(rec).toMatchObject({ action: 'shift_traffic', stack: 'us-west-2', targets: ['us-east-1'], status: 'executed' });
    expect(rec!.percent).toBeGreaterThanOrEqual(5);
    expect(rec!.percent).toBeLessThanOrEqual(20);
    expect(rec!.capacity).toBeUndefined();
    expect(rec!.phases.find((p) => p.name === 'dependency_checks')).toMatchObject({ code: 'targets_ok' });
    expect(rec!.phases.find((p) => p.name === 'dependency_checks')!.evidence).toMatch(/us-east-1 has room for \d+ % during the event/);
  });

  it('when routing alone cannot cover it, the pre-route is the most the peer can take and says what is still missing', () => {
    // Expected ×2.4: us-west-2 needs to shed 17 points; us-east-1 has room for 6 during the event.
    const [rec] = preemptive(replay(withMultiplier(saturation, 2.4), { decision: { predictive: { actions: ['pre_route'] } } }).recs);
    expect(rec).toMatchObject({ action: 'shift_traffic', stack: 'us-west-2', targets: ['us-east-1'], percent: 6 });
    expect(rec!.reason).toContain('(short of the 17 % needed; scale us-west-2 to ×1.49 its capacity)');
    // ×3: neither stack has room for the other: no pre-route, the forecast is said (informational).
    const none = preemptive(replay(withMultiplier(saturation, 3), { decision: { predictive: { actions: ['pre_route'] } } }).recs);
    expect(none.map((r) => [r.stack, r.action, r.status])).toEqual([
      ['us-east-1', 'observe', 'informational'],
      ['us-west-2', 'observe', 'informational'],
    ]);
  });

  it('waits for a person when approval is human, executes only once approved, and the audit log has every step', () => {
    const human = { decision: { execution: { approval: 'human' } } };
    // Unanswered, it expires after the 30-minute approval window and never executes.
    const whole = replay(saturation, human);
    const asked = preemptive(whole.recs)[0]!;
    expect(asked).toMatchObject({ action: 'pre_scale', status: 'awaiting_approval', requiresApproval: true });
    expect(whole.pipeline.decision.getRecommendation(asked.id)!.status).toBe('expired');
    expect(whole.pipeline.decision.allRecommendations().filter((r) => r.status === 'executed')).toEqual([]);

    // Up to 08:40 (the recommendation came at 08:35), then Alice approves at 08:40.
    const path = join(mkdtempSync(join(tmpdir(), 'harbinger-predict-')), 'audit.jsonl');
    const audit = new FileAuditLog(path);
    const cut = saturation.findIndex((l) => l.startsWith('{"type":"sample","ts":"2026-03-12T08:41'));
    const { recs, pipeline } = replay(saturation.slice(0, cut), human, audit);
    const [rec] = preemptive(recs);
    expect(rec).toMatchObject({ action: 'pre_scale', status: 'awaiting_approval', requiresApproval: true });
    expect(rec!.phases.find((p) => p.name === 'execution')).toMatchObject({ code: 'awaiting_approval' });
    expect(pipeline.decision.approve(rec!.id, 'alice', rec!.ts + 5 * MIN)).toMatchObject({ ok: true, code: 'approved' });
    expect(pipeline.decision.getRecommendation(rec!.id)).toMatchObject({ status: 'executed', approvedBy: 'alice' });

    const lines = readFileSync(path, 'utf8').split('\n');
    expect(verifyChain(lines).ok).toBe(true);
    const mine = lines
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l))
      .filter((e) => e.payload.id === rec!.id || e.payload.recommendationId === rec!.id);
    expect(mine.map((e) => [e.kind, e.actor])).toEqual([
      ['recommendation.awaiting_approval', 'harbinger'],
      ['outcome.approved', 'alice'],
      ['recommendation.executed', 'harbinger'],
    ]);
    expect(mine[2].payload.capacity.factor).toBe(1.3);
  });

  it('guardrails apply: a primary stack needs a human under the seed rule', () => {
    const primary = preemptive(replay(saturation, { decision: { stacks: { 'us-west-2': { primary: true } }, execution: { approval: 'guardrails' } } }).recs);
    expect(primary[0]).toMatchObject({ status: 'awaiting_approval', requiresApproval: true });
    expect(primary[0]!.phases.find((p) => p.name === 'human_approval')!.evidence).toContain('touches primary stack us-west-2');
  });

  it('guardrails apply: a change in flight blocks it (one change at a time)', () => {
    // Run up to just before the look-ahead, mark a change in flight across all scopes, then go on.
    const cut = saturation.findIndex((l) => l.startsWith('{"type":"sample","ts":"2026-03-12T08:30'));
    const { pipeline } = replay(saturation.slice(0, cut));
    const snap = pipeline.snapshot();
    snap.decision.guardrails.inFlight = { recommendationId: 'other', scope: 'checkout/us-east-1', until: Date.parse('2026-03-12T09:30:00Z') };
    const recs: Recommendation[] = [];
    const resumed = new Pipeline(withActionsReachingData(parseConfig({}), false), { output: (e) => e.type === 'recommendation' && recs.push(e) });
    resumed.restore(JSON.parse(JSON.stringify(snap)));
    for (const line of saturation.slice(cut)) {
      const r = parseLine(line);
      if (r.ok && r.kind === 'sample') resumed.offerSample(r.sample);
      else if (r.ok && r.kind === 'event') resumed.offerEvent(r.event);
    }
    resumed.flush();
    const [rec] = preemptive(recs);
    expect(rec).toMatchObject({ action: 'pre_scale', status: 'blocked', blockedBy: 'one_change_at_a_time' });
  });

  it('the webhook delivers pre_scale with its target capacity; HAProxy refuses it, naming what to do', async () => {
    const [rec] = preemptive(replay(saturation).recs);
    const body = routingWebhookRequestSchema.parse(toWebhookRequest(rec!));
    expect(body).toMatchObject({
      action: 'pre_scale',
      stack: 'us-west-2',
      capacity: { factor: 1.3, from: west.start.replace('Z', '.000Z'), until: west.end.replace('Z', '.000Z') },
      scheduledEvent: { id: west.eventId, kind: 'campaign', multiplier: 2.1 },
    });
    const haproxy = new HaproxyController({
      socketPath: '/nonexistent/haproxy.sock',
      backend: 'stacks',
      servers: { 'us-west-2': 'w', 'us-east-1': 'e' },
      timeoutMs: 200,
    });
    const r = await haproxy.apply(rec!);
    expect(r.ok).toBe(false);
    expect(r.detail).toContain('cannot add capacity');
  });

  it('a campaign announced ahead explains nothing before it begins', () => {
    const w = new ExplainedWindows();
    const at = Date.UTC(2026, 2, 12, 5);
    w.add({ ts: at, kind: 'campaign', id: 'sale', startTs: at + 4 * 60 * MIN, endTs: at + 6 * 60 * MIN, attributes: { expectedTrafficMultiplier: 2 } });
    expect(w.explaining('us-west-2', 'checkout', at + 60 * MIN)).toBeUndefined();
    expect(w.explaining('us-west-2', 'checkout', at + 5 * 60 * MIN)?.id).toBe('sale');
  });

  it('refuses a bad look-ahead configuration naming the field', () => {
    expect(() => parseConfig({ decision: { predictive: { actions: [] } } })).toThrow(ConfigError);
    expect(() => parseConfig({ decision: { predictive: { actions: ['pre_scale', 'pre_scale'] } } })).toThrow(
      /decision\.predictive\.actions: lists an action twice/,
    );
    expect(() => parseConfig({ decision: { predictive: { leadMinutes: 0 } } })).toThrow(/decision\.predictive\.leadMinutes/);
    expect(() => parseConfig({ decision: { stacks: { 'us-west-2': { capacityUnits: -3 } } } })).toThrow(/decision\.stacks\.us-west-2\.capacityUnits/);
  });
});
