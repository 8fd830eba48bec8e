/**
 * Who may approve or reject in Slack: `slack.approvers` lists user ids (U…, W…) and user group ids
 * (S…, a Slack "handle" such as @sre-oncall), so the on-call rotation Slack already keeps decides
 * who may click, not a list in Harbinger's config that goes stale.
 *
 * Group members are read with usergroups.users.list (bot token, `usergroups:read` scope) and kept
 * for `ttlMs`. Fails closed: a group that cannot be read, and was never read, lets nobody in
 * through it; one read before is used as it was until a read succeeds again.
 */

/** A Slack user group id (S…); anything else in the list is a user id. */
export function isUserGroupId(id: string): boolean {
  return /^S[A-Z0-9]{2,}$/.test(id);
}

export type GroupMembers = (group: string) => Promise<{ ok: true; users: string[] } | { ok: false; error: string }>;

export interface ApproverVerdict {
  allowed: boolean;
  /** Why, for the log (never shown to the clicker beyond "not in the approvers"). */
  reason: string;
}

interface Cached {
  users: ReadonlySet<string>;
  readAt: number;
}

export class SlackApprovers {
  private readonly users: ReadonlySet<string>;
  private readonly groups: readonly string[];
  private readonly cache = new Map<string, Cached>();

  constructor(
    ids: readonly string[],
    private readonly members: GroupMembers | undefined,
    private readonly now: () => number,
    private readonly ttlMs = 5 * 60_000,
  ) {
    this.users = new Set(ids.filter((id) => !isUserGroupId(id)));
    this.groups = ids.filter(isUserGroupId);
    if (this.groups.length > 0 && members === undefined) {
      throw new Error(
        `slack.approvers: user groups (${this.groups.join(', ')}) need bot mode (SLACK_BOT_TOKEN with the usergroups:read scope) to read their members`,
      );
    }
  }

  get userGroups(): readonly string[] {
    return this.groups;
  }

  async allows(userId: string): Promise<ApproverVerdict> {
    if (this.users.has(userId)) return { allowed: true, reason: 'listed user' };
    const failures: string[] = [];
    for (const group of this.groups) {
      const members = await this.membersOf(group, failures);
      if (members?.has(userId) === true) return { allowed: true, reason: `member of user group ${group}` };
    }
    return { allowed: false, reason: failures.length > 0 ? `not a listed user; ${failures.join('; ')}` : 'not a listed user nor in a listed user group' };
  }

  private async membersOf(group: string, failures: string[]): Promise<ReadonlySet<string> | undefined> {
    const cached = this.cache.get(group);
    if (cached !== undefined && this.now() - cached.readAt < this.ttlMs) return cached.users;
    const res = await this.members!(group);
    if (res.ok) {
      const users = new Set(res.users);
      this.cache.set(group, { users, readAt: this.now() });
      return users;
    }
    failures.push(
      cached !== undefined
        ? `user group ${group} could not be read (${res.error}): its members as read before are used`
        : `user group ${group} could not be read (${res.error}): nobody is let in through it`,
    );
    return cached?.users;
  }
}
