import { join } from 'node:path';
import type { HarbingerConfig } from '../config/load.js';
import type { ChainHead } from '../core/audit/hash-chain.js';
import { FileAuditLog } from '../adapters/file/audit-log.js';
import { FileStateStore } from '../adapters/state/file-state-store.js';
import type { ServiceMetrics } from '../adapters/http/metrics.js';
import type { Logger } from '../adapters/log/logger.js';

/** The audit head as a checkpoint holds it, and the oldest executed action whose controller had not answered then. */
type CheckpointedHead = ChainHead & { unansweredFrom?: number };

/**
 * The service's audit log and its checkpointed head. The log is verified against the head before
 * anything is appended: an edited, rewritten or truncated log stops the service (fail closed); a
 * torn tail is repaired and says so.
 */
export class AuditJournal {
  readonly log: FileAuditLog;
  private readonly head: FileStateStore<CheckpointedHead>;
  private lastAnnounced = -1;

  constructor(
    dir: string,
    key: string | undefined,
    cfg: HarbingerConfig,
    private readonly logger: Logger,
    now: () => number,
  ) {
    this.head = new FileStateStore<CheckpointedHead>(join(dir, 'audit.head.json'));
    const saved = this.head.load();
    const anchor = saved === undefined ? undefined : { seq: saved.seq, hash: saved.hash };
    this.log = new FileAuditLog(join(dir, 'audit.jsonl'), {
      ...(key !== undefined ? { key } : {}),
      ...(anchor !== undefined ? { anchor } : {}),
      // An action executed before that checkpoint whose controller had not answered: from its entry on.
      ...(saved?.unansweredFrom !== undefined ? { sinceSeq: saved.unansweredFrom - 1 } : {}),
      now,
      rotation: cfg.server.logs.audit,
    });
    const opened = this.log.opened;
    if (opened.repaired !== undefined) logger.warn(opened.repaired, 'audit log: a torn last line was cut off (recorded in the log)');
    if (opened.unauthenticated !== undefined)
      logger.warn({ entries: opened.unauthenticated }, 'audit log has keyed entries but HARBINGER_AUDIT_KEY is not set: their authenticity was not checked');
  }

  /** Saves the head taken with a checkpoint of state (see HarbingerService.checkpoint). */
  saveHead(head: ChainHead, unansweredFrom: number | undefined, metrics: ServiceMetrics): void {
    this.head.save({ ...head, ...(unansweredFrom !== undefined ? { unansweredFrom } : {}) });
    if (head.seq !== this.lastAnnounced) {
      this.lastAnnounced = head.seq;
      this.logger.info({ auditEntries: head.seq, auditHead: head.hash }, 'audit head checkpointed');
    }
    metrics.auditEntries.set(head.seq);
  }
}
