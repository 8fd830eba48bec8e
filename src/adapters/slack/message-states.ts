import type { RecommendationStatus } from '../../domain/decision.js';
import type { SqliteOutbox } from '../delivery/sqlite-outbox.js';
import type { Logger } from '../log/logger.js';
import type { RecState, SlackItem } from './slack-outbox.js';

const MAX_STATES = 2000;
const OPEN_STATUSES: ReadonlySet<RecommendationStatus> = new Set(['awaiting_approval', 'approved']);

/**
 * What the feed knows per recommendation it posted: the status its message should show, who
 * decided, and where the message lives (channel + ts, so it is updated rather than posted anew).
 * In memory, most recent last, bounded (the oldest without queued messages are forgotten first);
 * the delivered part is kept in the outbox's receipts table, so it survives a restart.
 */
export class MessageStates {
  private readonly states = new Map<string, RecState>();

  constructor(
    private readonly outbox: SqliteOutbox<SlackItem>,
    private readonly log: Pick<Logger, 'error'>,
    /** Recommendations with messages still queued: never forgotten. */
    private readonly queuedRecIds: () => Iterable<string>,
  ) {
    for (const [recId, st] of outbox.receipts<RecState>()) this.set(recId, st);
  }

  get(recId: string): RecState | undefined {
    return this.states.get(recId);
  }

  /** The last recommendation of an incident that has a message (where its resolution is threaded). */
  lastOfIncident(incidentId: string): string | undefined {
    let last: string | undefined;
    for (const [id, st] of this.states) if (st.incidentId === incidentId) last = id;
    return last;
  }

  set(recId: string, st: RecState): void {
    this.states.delete(recId);
    this.states.set(recId, st);
    if (this.states.size <= MAX_STATES) return;
    const queued = new Set(this.queuedRecIds());
    for (const id of this.states.keys()) {
      if (this.states.size <= MAX_STATES) break;
      if (queued.has(id) || id === recId) continue;
      this.states.delete(id);
      this.persist(() => this.outbox.dropReceiptOf(id));
    }
  }

  /** After a restart: the queued items say what each message will show. */
  restore(queued: Iterable<SlackItem>): void {
    for (const item of queued) {
      if (item.rec === undefined) continue;
      const st = this.states.get(item.recId);
      if (st === undefined)
        this.set(item.recId, {
          incidentId: item.rec.incidentId,
          status: item.rec.status,
          rec: item.rec,
          ...(item.decidedBy !== undefined ? { decidedBy: item.decidedBy } : {}),
        });
      else {
        st.status = item.rec.status;
        st.rec = item.rec;
        if (item.decidedBy !== undefined) st.decidedBy = item.decidedBy;
      }
    }
  }

  /** A message showing `latest` is in Slack (at channel+ts when Slack said so): kept across restarts. */
  delivered(recId: string, latest: SlackItem, at: { channel?: string; ts?: string }): void {
    const st = this.states.get(recId) ?? { incidentId: latest.rec?.incidentId ?? '', status: latest.rec?.status ?? 'awaiting_approval' };
    if (at.channel !== undefined && at.ts !== undefined) {
      st.channel = at.channel;
      st.ts = at.ts;
    }
    if (!this.states.has(recId)) this.set(recId, st);
    const stored: RecState = { incidentId: st.incidentId, status: latest.rec?.status ?? st.status };
    if (st.channel !== undefined) stored.channel = st.channel;
    if (st.ts !== undefined) stored.ts = st.ts;
    if (st.decidedBy !== undefined) stored.decidedBy = st.decidedBy;
    // the full recommendation only while its message can still change (keeps the table small)
    if (st.rec !== undefined && OPEN_STATUSES.has(st.status)) stored.rec = st.rec;
    this.persist(() => this.outbox.putReceiptOf(recId, stored));
  }

  /** A receipt not written costs an update after a restart (a new message instead), not the delivery. */
  private persist(write: () => void): void {
    try {
      write();
    } catch (err) {
      this.log.error({ err: String(err) }, 'slack: cannot write the outbox');
    }
  }
}
