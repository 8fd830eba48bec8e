import { appendFileSync, existsSync, statSync, truncateSync } from 'node:fs';
import { linesSync } from './line-reader.js';
import { AuditChain, verifyChain, type AuditEntry, type ChainHead } from '../../core/audit/hash-chain.js';

export interface AuditLogOptions {
  /** HMAC key (HARBINGER_AUDIT_KEY): entries are authenticated with it and checked against it at open. */
  key?: string;
  /** The head checkpointed last time: the log must still hold it, or it was cut or rewritten. */
  anchor?: ChainHead;
  /**
   * Report `since` from the entry after this one rather than after the anchor (an executed action
   * whose controller call had no answer yet when the anchor was checkpointed: it is sent again).
   */
  sinceSeq?: number;
  /** Wall clock for the repair entry. */
  now?: () => number;
}

/** What opening the log found and did. */
export interface AuditOpenReport {
  entries: number;
  /** A torn last line (a crash or a full disk mid-append) was cut off; what was removed. */
  repaired?: { line: number; bytes: number; reason: string };
  /** Keyed entries that could not be authenticated for lack of the key. */
  unauthenticated?: number;
  /** The entries after the anchor (what was audited since the last checkpoint), oldest first. */
  since: AuditEntry[];
}

/**
 * The audit log on disk: one JSON entry per line, appended synchronously so an entry is on disk
 * before the action it records is carried out. Opening verifies the whole chain (and the
 * checkpointed head): a log edited, rewritten or cut short refuses to open, so a service on it
 * fails closed; only a torn last line, what a crash or a full disk leaves mid-append, is repaired,
 * by cutting it off and recording that in the log itself.
 */
export class FileAuditLog {
  private readonly chain: AuditChain;
  private size: number;
  readonly opened: AuditOpenReport;

  constructor(
    private readonly path: string,
    opts: AuditLogOptions = {},
  ) {
    let head: ChainHead | undefined;
    let repaired: AuditOpenReport['repaired'];
    let unauthenticated: number | undefined;
    let since: AuditEntry[] = [];
    this.size = 0;
    if (existsSync(path)) {
      // Line by line, never the whole log as one string: a long-lived log passes V8's 512 MiB cap.
      const lines: string[] = [];
      let endsWithNewline = true;
      for (const l of linesSync(path)) {
        lines.push(l.line);
        endsWithNewline = l.complete;
      }
      if (endsWithNewline) lines.push(''); // as text.split('\n') has it: verifyChain counts bytes that way
      const r = verifyChain(lines, opts);
      if (!r.ok) {
        const lastLine = lastNonEmpty(lines);
        const torn = r.problem!.line === lastLine && r.problem!.reason === 'not valid JSON';
        if (!torn)
          throw new Error(
            `audit log ${path} fails verification at line ${r.problem!.line}: ${r.problem!.reason}. Refusing to continue on it (inspect with 'harbinger audit verify ${path}')`,
          );
        const bytes = statSync(path).size - r.validBytes;
        truncateSync(path, r.validBytes);
        repaired = { line: r.problem!.line, bytes, reason: 'torn last line (a crash or a full disk during an append) cut off' };
      }
      head = r.head;
      unauthenticated = r.unauthenticated;
      since = entriesAfter(lines, Math.min(opts.anchor?.seq ?? 0, opts.sinceSeq ?? Number.POSITIVE_INFINITY), r.head.seq);
      this.size = statSync(path).size;
    }
    this.chain = AuditChain.resume(head, opts.key);
    this.opened = {
      entries: head?.seq ?? 0,
      since,
      ...(repaired !== undefined ? { repaired } : {}),
      ...(unauthenticated !== undefined ? { unauthenticated } : {}),
    };
    if (repaired !== undefined) this.append((opts.now ?? Date.now)(), 'audit.repaired', 'harbinger', repaired);
  }

  /**
   * Append one entry. On a write error (a full disk) the partial line is cut off again and the
   * chain stays where it was, so the log is never left torn and the next append links correctly;
   * the error is thrown for the caller to refuse whatever the entry was for.
   */
  append(ts: number, kind: string, actor: string, payload: unknown): AuditEntry {
    const before = this.chain.head;
    const entry = this.chain.append(ts, kind, actor, payload);
    const line = `${JSON.stringify(entry)}\n`;
    try {
      appendFileSync(this.path, line);
      this.size += Buffer.byteLength(line);
    } catch (err) {
      this.chain.reset(before);
      try {
        truncateSync(this.path, this.size);
      } catch {
        // The disk may refuse this too; opening repairs a torn tail.
      }
      throw err;
    }
    return entry;
  }

  /** Count and last hash: checkpoint it, export it, compare it with the file later. */
  get head(): ChainHead {
    return this.chain.head;
  }
}

function lastNonEmpty(lines: readonly string[]): number {
  for (let i = lines.length - 1; i >= 0; i--) if (lines[i]!.trim() !== '') return i + 1;
  return 0;
}

/** The verified entries with seq in (after, upTo], read from the end (they are the log's tail). */
function entriesAfter(lines: readonly string[], after: number, upTo: number): AuditEntry[] {
  const out: AuditEntry[] = [];
  for (let i = lines.length - 1; i >= 0 && out.length < upTo - after; i--) {
    if (lines[i]!.trim() === '') continue;
    let e: AuditEntry;
    try {
      e = JSON.parse(lines[i]!) as AuditEntry;
    } catch {
      continue;
    }
    if (e.seq <= after) break;
    if (e.seq <= upTo) out.push(e);
  }
  return out.reverse();
}
