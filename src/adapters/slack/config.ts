import { z } from 'zod';

/** Slack feed. Secrets (SLACK_BOT_TOKEN, SLACK_WEBHOOK_URL, SLACK_SIGNING_SECRET) come from the environment. */
export const slackConfigSchema = z.strictObject({
  /** Defaults to `bot` when SLACK_BOT_TOKEN is set, `webhook` when only SLACK_WEBHOOK_URL is. */
  mode: z.enum(['bot', 'webhook']).optional(),
  channel: z.string().optional(),
  /** Slack's API base URL (tests and proxies). */
  baseUrl: z.string().url().default('https://slack.com'),
  /** Also post `none` recommendations (explained, global) for visibility. */
  includeInformational: z.boolean().default(false),
  /**
   * Slack user ids (U…, W…) and user group ids (S…, e.g. the on-call handle) whose members'
   * Approve/Reject clicks count; a click from anyone else changes nothing. Groups are read with
   * usergroups.users.list (bot mode, `usergroups:read` scope), kept five minutes, and a group that
   * cannot be read lets nobody in. Unset: anyone in the channel can decide (serve warns at start).
   */
  approvers: z.array(z.string().min(1)).min(1).optional(),
});

/** The `slack` section as configured (the feed's own settings add what serve derives: mode, outbox path). */
export type SlackSection = z.infer<typeof slackConfigSchema>;
