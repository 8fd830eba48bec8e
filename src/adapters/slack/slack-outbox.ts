import { existsSync, rmSync } from 'node:fs';
import type { Recommendation, RecommendationStatus } from '../../domain/decision.js';
import type { OutboxRow, SqliteOutbox } from '../delivery/sqlite-outbox.js';
import { linesSync } from '../file/line-reader.js';

/** What one queued Slack delivery is: a message to post or update, or a thread reply. */
export type OutboxKind = 'post' | 'update' | 'reply';

/** The outbox payload of one Slack delivery (its key is a uuid). */
export interface SlackItem {
  kind: OutboxKind;
  recId: string;
  createdAt: number;
  rec?: Recommendation;
  decidedBy?: string;
  text?: string;
}

/**
 * Where a recommendation's message lives and what it shows, kept in the outbox's receipts table
 * (by recommendation id) so a restarted feed updates the same message instead of posting anew.
 */
export interface RecState {
  incidentId: string;
  /** Latest accepted status (what the message should show). */
  status: RecommendationStatus;
  rec?: Recommendation;
  decidedBy?: string;
  channel?: string;
  ts?: string;
}

export type SlackRow = Readonly<OutboxRow<SlackItem>>;

/**
 * Queue full: what matters least goes first. An update another queued update of the same
 * recommendation makes pointless, then replies, then updates, then posts (the oldest of each).
 */
export function leastImportant(queue: readonly SlackRow[]): SlackRow | undefined {
  const superseded = queue.find(
    (i, at) =>
      i.payload.kind === 'update' &&
      queue.some((j, jat) => jat > at && j.payload.recId === i.payload.recId && j.payload.kind === 'update' && j.payload.createdAt >= i.payload.createdAt),
  );
  return superseded ?? queue.find((i) => i.payload.kind === 'reply') ?? queue.find((i) => i.payload.kind === 'update') ?? queue[0];
}

type LegacyLine = { op: 'enqueue'; item: SlackItem & { id: string } } | { op: 'done'; id: string } | ({ op: 'state'; recId: string } & RecState);

/**
 * The JSON-lines outbox of older versions (`slack-outbox.jsonl`): its undelivered items and
 * message locations are moved into the SQLite outbox in one transaction, then the file is
 * removed. A torn or unreadable line (a crash mid-append) is skipped, as the old reader did.
 */
export function importLegacyOutbox(path: string, outbox: SqliteOutbox<SlackItem>): number {
  if (!existsSync(path)) return 0;
  const pending = new Map<string, SlackItem & { id: string }>();
  const states = new Map<string, RecState>();
  for (const { line } of linesSync(path)) {
    let l: LegacyLine;
    try {
      l = JSON.parse(line) as LegacyLine;
    } catch {
      continue;
    }
    if (l.op === 'enqueue' && typeof l.item?.id === 'string') pending.set(l.item.id, l.item);
    else if (l.op === 'done') pending.delete(l.id);
    else if (l.op === 'state' && typeof l.recId === 'string') {
      const { op: _op, recId, ...st } = l;
      states.set(recId, st);
    }
  }
  outbox.transaction(() => {
    for (const [recId, st] of states) outbox.putReceiptOf(recId, st);
    for (const { id, ...item } of pending.values()) outbox.add({ key: id, payload: item, attempts: 0, enqueuedAt: item.createdAt });
  });
  rmSync(path);
  return pending.size;
}
