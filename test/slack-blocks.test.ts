import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { OutcomeEvent, Recommendation, RecommendationStatus } from '../src/domain/decision.js';
import { APPROVE_ACTION_ID, REJECT_ACTION_ID, SLACK_LIMITS, outcomeText, recommendationMessage } from '../src/adapters/slack/blocks.js';
import { T0, blockKitViolations, makeRec } from './support/fake-slack.js';

type Block = { type: string; text?: { type: string; text: string }; fields?: Array<{ text: string }>; elements?: any[]; block_id?: string };

function blocksOf(rec: Recommendation, withButtons = true, extra: { incidentUrl?: string; decidedBy?: string } = {}): Block[] {
  return recommendationMessage(rec, { withButtons, ...extra }).blocks as Block[];
}

function allText(blocks: Block[]): string {
  return JSON.stringify(blocks);
}

describe('recommendationMessage', () => {
  it('awaiting approval: header, facts, phases and Approve/Reject buttons', () => {
    const rec = makeRec();
    const msg = recommendationMessage(rec, { withButtons: true, incidentUrl: 'https://harbinger.example/incidents/inc-42' });
    const blocks = msg.blocks as Block[];
    expect(blockKitViolations(msg)).toEqual([]);

    expect(blocks[0]).toEqual({ type: 'header', text: { type: 'plain_text', text: 'Shift 20 % of checkout traffic away from us-west-2', emoji: true } });

    const facts = blocks[1]!;
    expect(facts.type).toBe('section');
    expect(facts.text!.text).toContain('awaiting approval');
    const fieldText = facts.fields!.map((f) => f.text).join('\n');
    expect(fieldText).toContain('*Confidence*\n0.87');
    expect(fieldText).toContain('03:19 UTC (in 12 min)');
    expect(fieldText).toContain('within guardrails');
    expect(fieldText).toContain('human approval required');
    expect(fieldText).toContain('deployment checkout v2.14.0');
    expect(fieldText).toContain('us-east-1, eu-west-1');

    const phases = blocks[2]!.text!.text;
    expect(phases.split('\n')).toHaveLength(11);
    expect(phases).toContain('✓ *trigger*');
    expect(phases).toContain('… *human approval*');
    expect(phases).toContain('· *freeze window*');
    expect(phases).toContain('740 ms &gt; 500 ms'); // mrkdwn control characters escaped

    const actions = blocks.find((b) => b.type === 'actions')!;
    expect(actions.elements).toHaveLength(2);
    const [approve, reject] = actions.elements!;
    expect(approve).toMatchObject({
      type: 'button',
      action_id: APPROVE_ACTION_ID,
      style: 'primary',
      value: rec.id,
      text: { type: 'plain_text', text: 'Approve' },
    });
    expect(approve.confirm.title.text).toBe('Approve this mitigation?');
    expect(reject).toMatchObject({ type: 'button', action_id: REJECT_ACTION_ID, style: 'danger', value: rec.id, text: { type: 'plain_text', text: 'Reject' } });
    expect(action_ids(blocks)).toEqual(['harbinger_approve', 'harbinger_reject']);

    const footer = blocks.at(-1)!;
    expect(footer.type).toBe('context');
    expect(footer.elements![0].text).toContain('<https://harbinger.example/incidents/inc-42|open incident>');
    expect(footer.elements![0].text).toContain('inc-42');

    expect(msg.text).toContain('Shift 20 % of checkout traffic away from us-west-2');
    expect(msg.text).toContain('AWAITING APPROVAL');
    expect(msg.text).toContain('confidence 0.87');
  });

  it('headers for the other actions', () => {
    expect(blocksOf(makeRec({ action: 'rollback' }))[0]!.text!.text).toBe('Roll back checkout on us-west-2');
    expect(blocksOf(makeRec({ action: 'pause_rollout' }))[0]!.text!.text).toBe('Pause the checkout rollout on us-west-2');
  });

  it('no buttons without withButtons (webhook) but says approval is needed', () => {
    const blocks = blocksOf(makeRec(), false);
    expect(blocks.some((b) => b.type === 'actions')).toBe(false);
    expect(allText(blocks)).toContain('Approval needed');
  });

  it.each<[RecommendationStatus, string]>([
    ['approved', 'Approved'],
    ['executed', 'Executed'],
    ['rejected', 'Rejected'],
    ['expired', 'Expired'],
    ['blocked', 'Blocked'],
  ])('%s: buttons gone, final state shown', (status, word) => {
    const rec = makeRec({ status, ...(status === 'blocked' ? { blockedBy: 'shift_rate_cap' as const } : {}) });
    const msg = recommendationMessage(rec, { withButtons: true, decidedBy: 'U024BE7LH' });
    const blocks = msg.blocks as Block[];
    expect(blockKitViolations(msg)).toEqual([]);
    expect(blocks.some((b) => b.type === 'actions')).toBe(false);
    expect(action_ids(blocks)).toEqual([]);
    const final = blocks[blocks.length - 2]!.text!.text;
    expect(final).toContain(`*${word}*`);
    if (status === 'approved' || status === 'rejected') expect(final).toContain('by <@U024BE7LH>');
    if (status === 'blocked') {
      expect(final).toContain('shift_rate_cap');
      expect(blocks[1]!.fields!.map((f) => f.text).join()).toContain('blocked by shift_rate_cap');
    }
  });

  it('breach already past and no prediction', () => {
    expect(allText(blocksOf(makeRec({ predictedBreachAt: T0 - 60_000 })))).toContain('already breached');
    expect(allText(blocksOf(makeRec({ predictedBreachAt: null })))).toContain('none predicted');
  });

  it('limits hold for huge evidence strings (property)', () => {
    const big = fc.string({ unit: fc.constantFrom('a', '<', '>', '&', '*', 'é', '😀', '\n', ' '), minLength: 0, maxLength: 6000 });
    fc.assert(
      fc.property(
        fc.record({
          id: fc.string({ minLength: 1, maxLength: 3000 }),
          stack: big,
          service: big,
          reason: big,
          cause: big,
          blockedBy: fc.option(fc.constantFrom('freeze_window' as const, 'one_change_at_a_time' as const, 'shift_rate_cap' as const), { nil: null }),
          evidence: fc.array(big, { minLength: 10, maxLength: 10 }),
          targets: fc.array(big, { maxLength: 5 }),
          status: fc.constantFrom<RecommendationStatus>('awaiting_approval', 'approved', 'executed', 'rejected', 'expired', 'blocked', 'failed'),
          percent: fc.integer({ min: 0, max: 100 }),
          url: fc.option(fc.webUrl(), { nil: undefined }),
          by: fc.option(big, { nil: undefined }),
        }),
        (g) => {
          const base = makeRec();
          const rec = makeRec({
            id: g.id,
            stack: g.stack,
            service: g.service,
            reason: g.reason,
            percent: g.percent,
            blockedBy: g.blockedBy,
            status: g.status,
            targets: g.targets,
            cause: { kind: 'unknown', reason: g.cause },
            phases: base.phases.map((p, i) => ({ ...p, evidence: g.evidence[i]! })),
          });
          const msg = recommendationMessage(rec, {
            withButtons: true,
            ...(g.url !== undefined ? { incidentUrl: g.url } : {}),
            ...(g.by !== undefined ? { decidedBy: g.by } : {}),
          });
          expect(blockKitViolations(msg)).toEqual([]);
          expect(msg.blocks.length).toBeLessThanOrEqual(SLACK_LIMITS.maxBlocks);
          expect(msg.text.length).toBeLessThanOrEqual(SLACK_LIMITS.fallbackText);
          // no lone surrogate left by truncation
          expect(JSON.stringify(msg)).not.toMatch(/\\ud[89a-f][0-9a-f]{2}/i);
        },
      ),
      { numRuns: 150 },
    );
  });
});

function action_ids(blocks: Block[]): string[] {
  return blocks.filter((b) => b.type === 'actions').flatMap((b) => b.elements!.map((e: { action_id: string }) => e.action_id));
}

describe('outcomeText', () => {
  const o = (over: Partial<OutcomeEvent>): OutcomeEvent => ({
    type: 'outcome',
    ts: T0 + 20 * 60_000,
    recommendationId: 'rec-1',
    incidentId: 'inc-42',
    outcome: 'effective',
    reason: 'p99 back to 310 ms < 500 ms',
    ...over,
  });

  it('post-action validation', () => {
    expect(outcomeText(o({}))).toBe(':white_check_mark: *Post-action validation: effective* (03:27 UTC). p99 back to 310 ms &lt; 500 ms');
    const bad = outcomeText(o({ outcome: 'ineffective', reason: 'orders still -15 %' }));
    expect(bad).toContain('INEFFECTIVE');
    expect(bad).toContain('Consider reverting');
  });

  it('approvals name who', () => {
    expect(outcomeText(o({ outcome: 'approved', by: 'U024BE7LH', reason: 'approved in Slack' }))).toContain('*Approved* by <@U024BE7LH>');
    expect(outcomeText(o({ outcome: 'rejected', by: 'alice', reason: 'known perf test' }))).toContain('*Rejected* by alice');
  });

  it('stays within the section limit', () => {
    expect(outcomeText(o({ reason: '<'.repeat(10_000) })).length).toBeLessThanOrEqual(3000);
  });
});
