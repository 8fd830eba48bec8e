import { describe, expect, it } from 'vitest';
import { isUserGroupId, SlackApprovers, type GroupMembers } from '../src/adapters/slack/approvers.js';

describe('Slack approvers: users and user groups', () => {
  it('tells user group ids (S…) from user ids (U…, W…)', () => {
    expect(['S0614TZR7', 'U0ALICE', 'W012A3CDE', 'sre-oncall', 'S'].map(isUserGroupId)).toEqual([true, false, false, false, false]);
  });

  it('lets in listed users and the members of listed groups, reading a group once per ttl', async () => {
    let reads = 0;
    const members: GroupMembers = async (g) => {
      reads++;
      return g === 'S0ONCALL' ? { ok: true, users: ['U0BOB', 'U0CAROL'] } : { ok: false, error: 'no_such_subteam' };
    };
    let now = 0;
    const approvers = new SlackApprovers(['U0ALICE', 'S0ONCALL'], members, () => now, 60_000);
    expect(await approvers.allows('U0ALICE')).toEqual({ allowed: true, reason: 'listed user' });
    expect(reads).toBe(0);
    expect(await approvers.allows('U0BOB')).toEqual({ allowed: true, reason: 'member of user group S0ONCALL' });
    expect((await approvers.allows('U0MALLORY')).allowed).toBe(false);
    expect(reads).toBe(1);
    now = 61_000;
    expect((await approvers.allows('U0CAROL')).allowed).toBe(true);
    expect(reads).toBe(2);
  });

  it('fails closed: a group never read lets nobody in; one read before is used as it was', async () => {
    let up = false;
    const members: GroupMembers = async () => (up ? { ok: true, users: ['U0BOB'] } : { ok: false, error: 'missing_scope' });
    let now = 0;
    const approvers = new SlackApprovers(['S0ONCALL'], members, () => now, 1_000);
    const refused = await approvers.allows('U0BOB');
    expect(refused.allowed).toBe(false);
    expect(refused.reason).toContain('user group S0ONCALL could not be read (missing_scope): nobody is let in through it');
    up = true;
    expect((await approvers.allows('U0BOB')).allowed).toBe(true);
    up = false;
    now = 5_000;
    const stale = await approvers.allows('U0BOB');
    expect(stale.allowed).toBe(true);
  });

  it('refuses groups without a way to read them (webhook mode has no bot token)', () => {
    expect(() => new SlackApprovers(['U0ALICE', 'S0ONCALL'], undefined, () => 0)).toThrow(/user groups \(S0ONCALL\) need bot mode/);
    expect(() => new SlackApprovers(['U0ALICE'], undefined, () => 0)).not.toThrow();
  });
});
