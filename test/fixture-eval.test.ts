import { describe, expect, it } from 'vitest';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { evaluateFixtures, type FixtureEvaluation } from '../src/app/evaluate.js';
import { parseConfig } from '../src/config/load.js';
import { generateScenario, SCENARIO_NAMES } from '../fixtures/generate.js';
import { scoreScenario } from '../src/eval/fixture-eval.js';
import { truthSchema } from '../src/eval/truth.js';
import type { Recommendation } from '../src/domain/decision.js';

const config = parseConfig({});

describe('end to end on the incident fixtures (replay → recommendations → truth)', () => {
  it('mitigates every committed incident on the right stack before its SLO breach, and never in a trap', async () => {
    const { summary, scenarios } = await evaluateFixtures('fixtures/scenarios', config);
    expect(scenarios).toHaveLength(13);
    expect(summary).toMatchObject({
      incidents: 6,
      detected: 6,
      beforeBreach: 6,
      localizationAccuracy: 1,
      actionAccuracy: 1,
      trapMitigations: 0,
      // None. (On day 2 of canary-bad-deploy prod's orders sit 12 % under day 1's at 11:00-11:50, the
      // generator's day-to-day spread: dips of 4.2-4.9σ carried in the averaged channel had confirmed
      // the minutes after them at 11:22, and 7 % of prod's traffic went to the canary, until each
      // point entered that average clipped at the bound: now 11:01 stays a warning.)
      falseMitigations: 0,
      // The look-ahead: the one stack a scheduled campaign would saturate is pre-scaled 39 min ahead, enough.
      scheduledSaturating: 1,
      preemptedAhead: 1,
      preScaledEnough: 1,
    });
    expect(summary.medianLeadMinutes!).toBeGreaterThanOrEqual(15);
  });

  it('asks the rollout gate about every deployment: the bad canary is rolled back before its breach, no good rollout ever is', async () => {
    const { summary, scenarios } = await evaluateFixtures('fixtures/scenarios', config);
    expect(summary).toMatchObject({ badRollouts: 2, badRolledBackBeforeBreach: 2, goodRollouts: 4, goodRolledBack: 0 });
    const canary = scenarios.find((s) => s.scenario === 'canary-bad-deploy')!.rollouts;
    expect(canary).toHaveLength(1);
    const r = canary[0]!;
    // The canary runs 5 % of the traffic; deployed 09:46:40-09:48:40, SLO breach at 10:34.
    expect(r).toMatchObject({ deployId: 'deploy-872', stack: 'canary', step: 5, bad: true, rollbackMinutes: 30 });
    expect(new Date(r.since).toISOString()).toBe('2026-03-06T09:48:40.000Z');
    expect(r.rollbackLeadMinutes!).toBeCloseTo(15.33, 1);
    // Held while the step has too few points, then rolled back on p99 set apart from the old version.
    expect(r.checks[0]).toMatchObject({ minutes: 5, verdict: 'hold' });
    expect(r.checks.at(-1)).toMatchObject({ minutes: 30, verdict: 'rollback' });
    expect(r.checks.at(-1)!.reason).toMatch(/^http_p99_ms: 5\.11σ from its baseline, 4\.33σ worse than the old version/);
    expect(r.checks.slice(0, -1).every((c) => c.verdict !== 'rollback')).toBe(true);
    // The blue/green bad deploy (50 %) too, 15 min before its breach.
    const bg = scenarios.find((s) => s.scenario === 'bad-deploy')!.rollouts.find((x) => x.bad)!;
    expect(bg).toMatchObject({ deployId: 'deploy-618', step: 50, rollbackMinutes: 25 });
    expect(bg.rollbackLeadMinutes!).toBeGreaterThan(0);
    // The routine deployments of bad-deploy and quiet-day: asked for 90 minutes each, never rollback.
    const good = scenarios.flatMap((s) => s.rollouts).filter((x) => !x.bad);
    expect(good.map((x) => x.deployId).sort()).toEqual(['deploy-380', 'deploy-380b', 'deploy-768', 'deploy-768b']);
    for (const g of good) {
      expect(g.checks).toHaveLength(18);
      expect(g.checks.some((c) => c.verdict === 'rollback')).toBe(false);
      expect(g.checks.some((c) => c.verdict === 'promote')).toBe(true);
    }
  });

  it("decides the same when the metrics carry other names and units, as a newcomer's exporters send them", async () => {
    // Same data, other spellings: the error ratio in percent, p99 in seconds, utilisation in
    // percent or as a saturation, orders as a Prometheus-style rate. Only the default gates.
    const renamed: Record<string, [string, number]> = {
      http_error_ratio: ['http_requests_failed_percent', 100],
      http_p99_ms: ['http_request_duration_seconds_p99', 0.001],
      cpu_utilization: ['cpu_usage_percent', 100],
      db_pool_utilization: ['db_pool_saturation', 1],
      memory_utilization: ['memory_used_ratio', 1],
      orders_per_min: ['checkout_orders_rate', 1],
    };
    const dir = mkdtempSync(join(tmpdir(), 'harbinger-renamed-'));
    for (const f of readdirSync('fixtures/scenarios')) {
      const text = readFileSync(join('fixtures/scenarios', f), 'utf8');
      if (!f.endsWith('.jsonl')) {
        writeFileSync(join(dir, f), text);
        continue;
      }
      const out = text.split('\n').map((line) => {
        if (!line.includes('"type":"sample"')) return line;
        const r = JSON.parse(line) as { metric: string; value: number };
        const to = renamed[r.metric];
        if (to === undefined) return line;
        return JSON.stringify({ ...r, metric: to[0], value: Math.round(r.value * to[1] * 1e9) / 1e9 });
      });
      writeFileSync(join(dir, f), out.join('\n'));
    }
    const decided = (e: FixtureEvaluation) =>
      e.scenarios.map((s) => ({
        scenario: s.scenario,
        incidents: s.incidents,
        falseMitigations: s.falseMitigations,
        preemptive: s.preemptive.map(({ eventId, stack, saturates, leadMinutes, action }) => ({ eventId, stack, saturates, leadMinutes, action })),
        rollouts: s.rollouts.map((r) => ({ deployId: r.deployId, bad: r.bad, rollbackMinutes: r.rollbackMinutes })),
      }));
    const [original, other] = [await evaluateFixtures('fixtures/scenarios', config), await evaluateFixtures(dir, config)];
    expect(decided(other)).toEqual(decided(original));
    expect(other.summary.beforeBreach).toBe(6);
  });

  it('holds up on scenarios generated with a seed it was never run on (held out)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'harbinger-heldout-'));
    for (const name of SCENARIO_NAMES) {
      const { lines, truth } = generateScenario(name, 2);
      writeFileSync(join(dir, `${name}.jsonl`), `${lines.join('\n')}\n`);
      writeFileSync(join(dir, `${name}.truth.json`), JSON.stringify(truth));
    }
    const { summary } = await evaluateFixtures(dir, config);
    expect(summary.detected).toBe(6);
    expect(summary.beforeBreach).toBeGreaterThanOrEqual(5);
    expect(summary.localizationAccuracy).toBe(1);
    expect(summary.trapMitigations).toBeLessThanOrEqual(1);
    expect(summary).toMatchObject({ scheduledSaturating: 1, preemptedAhead: 1, preScaledEnough: 1 });
    // The gate catches both bad rollouts on this seed too. Of the good ones, quiet-day's second
    // deployment gets a rollback on p99 (4.0σ, 2.8σ worse than the old version at +20 min): left open.
    // Business no longer rolls one back (it did on orders 6.5 % under per share at +60 min, within noise).
    expect(summary).toMatchObject({ badRollouts: 2, badRolledBackBeforeBreach: 2, goodRollouts: 4, goodRolledBack: 1 });
  });
});

describe('scoring a scenario with a scheduled event', () => {
  const truth = truthSchema.parse(JSON.parse(readFileSync('fixtures/scenarios/campaign-saturation.truth.json', 'utf8')));
  const shift = (stack: string, iso: string, action: Recommendation['action'] = 'shift_traffic') =>
    ({
      id: `r-${stack}-${iso}`,
      ts: Date.parse(iso),
      stack,
      action,
      status: 'executed',
      blockedBy: null,
      reason: 'test',
      cause: { kind: 'none', reason: '' },
    }) as unknown as Recommendation;

  it('counts moving traffic off the stack the event saturates, while it lasts, as relief; anything else as false', () => {
    // The truth: us-west-2 saturates under campaign-136 from 09:14 to 11:14 and expects pre_scale or shift_traffic.
    expect(scoreScenario(truth, [shift('us-west-2', '2026-03-12T10:17:00Z')]).falseMitigations).toBe(0);
    expect(scoreScenario(truth, [shift('us-west-2', '2026-03-12T11:30:00Z')]).falseMitigations).toBe(1);
    expect(scoreScenario(truth, [shift('us-east-1', '2026-03-12T10:17:00Z')]).falseMitigations).toBe(1);
    expect(scoreScenario(truth, [shift('us-west-2', '2026-03-12T10:17:00Z', 'rollback')]).falseMitigations).toBe(1);
  });
});
